/**
 * @module One POP3 connection of the sandbox (RFC 1939, CAPA RFC 2449, STLS RFC 2595, SASL PLAIN
 * RFC 5034 / RFC 4616): authorization, then a transaction on a snapshot of one maildrop, whose
 * DELEs take effect only at QUIT (the update state). Commands are read as byte lines with a named
 * length limit; a client past it, or idle too long, is disconnected.
 */
import net from "node:net";
import tls from "node:tls";
import { multiLineBody } from "./dotStuff.js";
import type { MailStore, SandboxMessage } from "./mailStore.js";

export const POP3_LIMITS = {
  /** RFC 2449 §4 allows 255 octets per command; SASL responses get some more room. */
  lineBytes: 1024,
  /** RFC 1939 §3: an autologout timer of at least 10 minutes. */
  idleMs: 10 * 60_000,
  /** Failed logins before the connection is closed. */
  authFailures: 3,
} as const;

type State =
  | { kind: "authorization"; user?: string; saslPlain?: true }
  | { kind: "transaction"; maildrop: string; messages: SandboxMessage[]; deleted: Set<number> };

export class Pop3SandboxSession {
  private socket: net.Socket;
  private buffer = Buffer.alloc(0);
  private state: State = { kind: "authorization" };
  private failures = 0;
  private closed = false;

  constructor(socket: net.Socket, private readonly store: MailStore, private readonly secureContext: tls.SecureContext) {
    this.socket = socket;
    this.attach(socket);
    this.write("+OK email-sync sandbox POP3 ready\r\n");
  }

  private attach(socket: net.Socket): void {
    socket.setTimeout(POP3_LIMITS.idleMs, () => this.end("-ERR idle too long, closing\r\n"));
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", () => socket.destroy());
  }

  private get tls(): boolean {
    return this.socket instanceof tls.TLSSocket;
  }

  private onData(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (this.closed) return;
      const lf = this.buffer.indexOf(0x0a);
      if (lf < 0) {
        if (this.buffer.length > POP3_LIMITS.lineBytes) this.end("-ERR line too long\r\n");
        return;
      }
      if (lf + 1 > POP3_LIMITS.lineBytes) return this.end("-ERR line too long\r\n");
      const line = this.buffer.subarray(0, lf).toString("latin1").replace(/\r$/, "");
      this.buffer = this.buffer.subarray(lf + 1);
      if (this.handle(line) === "stls") return;
    }
  }

  private write(text: string | Buffer): void {
    if (!this.closed) this.socket.write(text);
  }

  private end(text: string): void {
    this.write(text);
    this.closed = true;
    this.socket.end();
  }

  private handle(line: string): "stls" | void {
    const st = this.state;
    if (st.kind === "authorization" && st.saslPlain) return this.finishSaslPlain(line);
    const [verb = "", ...args] = line.split(" ");
    switch (verb.toUpperCase()) {
      case "CAPA": return this.capa();
      case "QUIT": return this.quit();
      case "NOOP": return this.write(st.kind === "transaction" ? "+OK\r\n" : "-ERR not logged in\r\n");
    }
    if (st.kind === "authorization") return this.authorization(verb.toUpperCase(), args);
    return this.transaction(st, verb.toUpperCase(), args);
  }

  private capa(): void {
    const caps = ["USER", "UIDL", "RESP-CODES", "SASL PLAIN", ...(this.tls || this.state.kind !== "authorization" ? [] : ["STLS"]), "IMPLEMENTATION email-sync-sandbox"];
    this.write(`+OK capability list follows\r\n${caps.join("\r\n")}\r\n.\r\n`);
  }

  private authorization(verb: string, args: string[]): "stls" | void {
    const st = this.state as Extract<State, { kind: "authorization" }>;
    if (verb === "STLS") return this.stls();
    if (verb === "USER" && args.length === 1) {
      st.user = args[0];
      return this.write("+OK\r\n");
    }
    if (verb === "PASS" && st.user !== undefined) return this.login(st.user, args.join(" "));
    if (verb === "AUTH" && args[0]?.toUpperCase() === "PLAIN") {
      if (args[1] !== undefined) return this.finishSaslPlain(args[1]);
      st.saslPlain = true;
      return this.write("+ \r\n");
    }
    if (verb === "AUTH") return this.write("-ERR unsupported SASL mechanism\r\n");
    this.write("-ERR not logged in\r\n");
  }

  private stls(): "stls" | void {
    if (this.tls) return this.write("-ERR already under TLS\r\n");
    this.socket.write("+OK begin TLS negotiation\r\n");
    // RFC 2595 §4 / RFC 3207 §4.2 spirit: bytes pipelined before the handshake are discarded,
    // never read as commands of the protected session.
    this.buffer = Buffer.alloc(0);
    const plain = this.socket;
    plain.removeAllListeners("data");
    plain.setTimeout(0);
    this.socket = new tls.TLSSocket(plain, { isServer: true, secureContext: this.secureContext });
    this.attach(this.socket);
    this.state = { kind: "authorization" };
    return "stls";
  }

  private finishSaslPlain(response: string): void {
    const st = this.state as Extract<State, { kind: "authorization" }>;
    delete st.saslPlain;
    if (response === "*") return this.write("-ERR authentication cancelled\r\n");
    const [authzid, authcid, password] = Buffer.from(response, "base64").toString("utf8").split("\0");
    if (authcid === undefined || password === undefined || (authzid !== "" && authzid !== authcid)) {
      return this.failLogin();
    }
    this.login(authcid, password);
  }

  private login(user: string, password: string): void {
    const maildrop = this.store.authenticate(user, password);
    if (maildrop === undefined) return this.failLogin();
    const messages = this.store.list(maildrop);
    this.state = { kind: "transaction", maildrop, messages, deleted: new Set() };
    this.write(`+OK ${messages.length} messages\r\n`);
  }

  private failLogin(): void {
    this.state = { kind: "authorization" };
    if (++this.failures >= POP3_LIMITS.authFailures) return this.end("-ERR [AUTH] too many failures\r\n");
    this.write("-ERR [AUTH] invalid user name or password\r\n");
  }

  private transaction(st: Extract<State, { kind: "transaction" }>, verb: string, args: string[]): void {
    const live = st.messages.map((m, i) => ({ n: i + 1, m })).filter(({ n }) => !st.deleted.has(n));
    const pick = (arg: string | undefined): SandboxMessage | undefined => {
      const n = arg !== undefined && /^\d{1,9}$/.test(arg) ? Number(arg) : 0;
      return n >= 1 && !st.deleted.has(n) ? st.messages[n - 1] : undefined;
    };
    switch (verb) {
      case "STAT":
        return this.write(`+OK ${live.length} ${live.reduce((s, { m }) => s + m.bytes.length, 0)}\r\n`);
      case "LIST":
      case "UIDL": {
        const field = (m: SandboxMessage): string | number => (verb === "LIST" ? m.bytes.length : m.uid);
        if (args[0] !== undefined) {
          const m = pick(args[0]);
          return this.write(m ? `+OK ${args[0]} ${field(m)}\r\n` : "-ERR no such message\r\n");
        }
        return this.write(`+OK\r\n${live.map(({ n, m }) => `${n} ${field(m)}\r\n`).join("")}.\r\n`);
      }
      case "RETR": {
        const m = pick(args[0]);
        if (!m) return this.write("-ERR no such message\r\n");
        this.write(`+OK ${m.bytes.length} octets\r\n`);
        return this.write(multiLineBody(m.bytes));
      }
      case "DELE": {
        if (!pick(args[0])) return this.write("-ERR no such message\r\n");
        st.deleted.add(Number(args[0]));
        return this.write("+OK deleted\r\n");
      }
      case "RSET":
        st.deleted.clear();
        return this.write("+OK\r\n");
      default:
        return this.write("-ERR unknown command\r\n");
    }
  }

  private quit(): void {
    const st = this.state;
    if (st.kind === "transaction") {
      // RFC 1939 §6: deletions happen in the update state, entered only through QUIT.
      this.store.remove(st.maildrop, new Set([...st.deleted].map((n) => st.messages[n - 1]?.uid ?? "")));
    }
    this.end("+OK bye\r\n");
  }
}
