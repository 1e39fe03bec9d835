/**
 * @module The sandbox's one mail store, shared by its SMTP and POP3 listeners and the injection
 * route: an in-memory maildrop per sandbox address plus a catch-all for every other address, so
 * nothing submitted to the sandbox is ever relayed. Like the embedded Azurite it lives in memory
 * and starts empty with each `npm start`. Every size and count is capped by a named limit, since
 * the injection route lets anyone with the admin key put arbitrary bytes in.
 */
import { randomUUID } from "node:crypto";

export const SANDBOX_LIMITS = {
  /** Largest message accepted (SMTP SIZE, injection, POP3). */
  messageBytes: 25 * 1024 * 1024,
  /** Messages one maildrop (the catch-all too) holds; a delivery past it is refused, not dropped. */
  messagesPerMaildrop: 1_000,
} as const;

/** Mail for any address that is not a sandbox user lands here (and can be read over POP3 as this user). */
export const CATCH_ALL = "catch-all@sandbox.test";

export interface SandboxUser {
  address: string;
  password: string;
}

export interface SandboxMessage {
  /** Stable for the life of the message (UIDL, RFC 1939 §7): never reused. */
  uid: string;
  /** Exactly what RETR sends before dot-stuffing: CRLF lines, last line's CRLF included. */
  bytes: Buffer;
  receivedAt: Date;
}

export type DeliverError = { code: "MESSAGE_TOO_LARGE" | "MAILDROP_FULL"; message: string };
export type DeliverResult = { ok: true; maildrop: string; uid: string } | { ok: false; error: DeliverError };

const LF = 0x0a;
const CR = 0x0d;

/**
 * POP3 and SMTP both carry mail as CRLF lines, so a bare LF becomes CRLF and a missing final line
 * end is added, as Postfix and Dovecot store it; no other byte (8-bit, NUL, bare CR) is touched.
 */
export function toCrlfLines(raw: Buffer): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === LF && (i === 0 || raw[i - 1] !== CR)) {
      parts.push(raw.subarray(start, i), Buffer.from("\r\n"));
      start = i + 1;
    }
  }
  parts.push(raw.subarray(start));
  let out = Buffer.concat(parts);
  if (out.length > 0 && !(out[out.length - 2] === CR && out[out.length - 1] === LF)) out = Buffer.concat([out, Buffer.from("\r\n")]);
  return out;
}

export class MailStore {
  private readonly passwords = new Map<string, string>();
  private readonly maildrops = new Map<string, SandboxMessage[]>();

  constructor(users: readonly SandboxUser[], catchAllPassword: string) {
    for (const u of [...users, { address: CATCH_ALL, password: catchAllPassword }]) {
      const address = u.address.toLowerCase();
      this.passwords.set(address, u.password);
      this.maildrops.set(address, []);
    }
  }

  /** The maildrop `login` may read when `password` is right (constant-time enough for loopback demo use). */
  authenticate(login: string, password: string): string | undefined {
    const address = login.toLowerCase();
    return this.passwords.get(address) === password ? address : undefined;
  }

  /** Which maildrop mail for `recipient` goes to. */
  maildropFor(recipient: string): string {
    const address = recipient.toLowerCase();
    return this.maildrops.has(address) ? address : CATCH_ALL;
  }

  deliver(recipient: string, raw: Buffer): DeliverResult {
    const bytes = toCrlfLines(raw);
    if (bytes.length > SANDBOX_LIMITS.messageBytes) {
      return { ok: false, error: { code: "MESSAGE_TOO_LARGE", message: `The message is larger than ${SANDBOX_LIMITS.messageBytes} bytes.` } };
    }
    const maildrop = this.maildropFor(recipient);
    const messages = this.maildrops.get(maildrop) as SandboxMessage[];
    if (messages.length >= SANDBOX_LIMITS.messagesPerMaildrop) {
      return { ok: false, error: { code: "MAILDROP_FULL", message: `The maildrop ${maildrop} already holds ${SANDBOX_LIMITS.messagesPerMaildrop} messages.` } };
    }
    const uid = randomUUID();
    messages.push({ uid, bytes, receivedAt: new Date() });
    return { ok: true, maildrop, uid };
  }

  /**
   * One message to several recipients: all copies or none, so a refused delivery (a full
   * maildrop) never leaves the sender unsure which recipients got it.
   */
  deliverAll(recipients: readonly string[], raw: Buffer): { ok: true } | { ok: false; error: DeliverError } {
    const counts = new Map<string, number>();
    for (const r of recipients) counts.set(this.maildropFor(r), (counts.get(this.maildropFor(r)) ?? 0) + 1);
    for (const [maildrop, n] of counts) {
      if ((this.maildrops.get(maildrop)?.length ?? 0) + n > SANDBOX_LIMITS.messagesPerMaildrop) {
        return { ok: false, error: { code: "MAILDROP_FULL", message: `The maildrop ${maildrop} is full (${SANDBOX_LIMITS.messagesPerMaildrop} messages).` } };
      }
    }
    for (const r of recipients) {
      const result = this.deliver(r, raw);
      if (!result.ok) return result;
    }
    return { ok: true };
  }

  /** A snapshot of a maildrop (a POP3 session works on the messages there when it logged in). */
  list(maildrop: string): SandboxMessage[] {
    return [...(this.maildrops.get(maildrop) ?? [])];
  }

  remove(maildrop: string, uids: ReadonlySet<string>): void {
    const messages = this.maildrops.get(maildrop);
    if (messages) this.maildrops.set(maildrop, messages.filter((m) => !uids.has(m.uid)));
  }
}
