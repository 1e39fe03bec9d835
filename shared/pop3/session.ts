/**
 * @module A logged-in POP3 session: connect (greeting, CAPA, STLS, login), then the
 * TRANSACTION-state commands. See index.ts for the whole API in one place.
 */
import type { Readable } from "node:stream";
import { authenticate, type Pop3AuthMechanism } from "./authenticate.js";
import { capa, type Pop3Capabilities } from "./commands/capa.js";
import { dele } from "./commands/dele.js";
import { list, type ScanListing } from "./commands/list.js";
import { noop } from "./commands/noop.js";
import { quit } from "./commands/quit.js";
import { retr } from "./commands/retr.js";
import { stat, type MaildropStat } from "./commands/stat.js";
import { stls } from "./commands/stls.js";
import { uidl, type UniqueIdListing } from "./commands/uidl.js";
import { Pop3Connection } from "./connection.js";
import { SessionDeadline } from "./deadline.js";
import { openSocket, upgradeSocket } from "./open-socket.js";
import { resolveOptions, type Pop3ConnectOptions } from "./options.js";
import { replyError } from "./reply-errors.js";
import { retrieveMany, type RetrieveManyOptions, type RetrievedMessage } from "./retrieve-many.js";

export class Pop3Session {
  private constructor(
    private readonly conn: Pop3Connection,
    /** The greeting line, e.g. "+OK Dovecot ready." */
    readonly greeting: string,
    private caps: Pop3Capabilities,
    /** How the session logged in. */
    readonly mechanism: Pop3AuthMechanism,
  ) {}

  static async connect(options: Pop3ConnectOptions): Promise<Pop3Session> {
    const o = resolveOptions(options);
    const deadline = new SessionDeadline(o.deadlineMs); // from the start of connect
    const conn = new Pop3Connection(await openSocket(o, deadline), { ...o, deadline });
    try {
      const greeting = await conn.readGreeting();
      if (!greeting.ok) throw replyError(greeting, "(greeting)", "greeting");
      let caps = await capa(conn);
      if (!conn.secure && caps.stls) {
        await stls(conn, (plain) => upgradeSocket(plain, o, deadline));
        caps = await capa(conn); // RFC 2595 §4: forget what was learnt in clear
      }
      const mechanism = await authenticate(conn, o, caps, greeting.line);
      // RFC 2449 §5: some capabilities are announced only in the TRANSACTION state.
      if (caps.known) caps = await capa(conn);
      conn.pipelining = caps.pipelining;
      return new Pop3Session(conn, greeting.line, caps, mechanism);
    } catch (err) {
      conn.destroy();
      throw err;
    }
  }

  /** As announced after login (RFC 2449 §5). */
  get capabilities(): Pop3Capabilities {
    return this.caps;
  }

  /** True once TLS is in use (implicit or STLS). */
  get secure(): boolean {
    return this.conn.secure;
  }

  /**
   * Milliseconds left before the session's overall deadline (deadlineMs, from the start of
   * connect), 0 once passed. A caller can stop starting work that would not finish in time.
   */
  get remainingMs(): number {
    return this.conn.remainingMs;
  }

  /** Bytes and socket reads received, and the most reply bytes held in memory at once. */
  get stats(): Readonly<{ bytesReceived: number; reads: number; peakBufferedBytes: number }> {
    return this.conn.stats;
  }

  stat(): Promise<MaildropStat> {
    return stat(this.conn);
  }

  list(): Promise<ScanListing[]> {
    return list(this.conn);
  }

  uidl(): Promise<UniqueIdListing[]> {
    return uidl(this.conn);
  }

  /** Resolves at the "+OK"; the stream must then be consumed or destroyed. */
  retrieve(msgNo: number): Promise<Readable> {
    return retr(this.conn, msgNo);
  }

  retrieveMany(msgNos: readonly number[], options: RetrieveManyOptions = {}): AsyncGenerator<RetrievedMessage, void, undefined> {
    return retrieveMany(this.conn, msgNos, options);
  }

  dele(msgNo: number): Promise<void> {
    return dele(this.conn, msgNo);
  }

  /** Marks several messages, pipelined when the server allows it; fails with the first "-ERR". */
  async deleMany(msgNos: readonly number[]): Promise<void> {
    await Promise.all(msgNos.map((n) => dele(this.conn, n)));
  }

  noop(): Promise<void> {
    return noop(this.conn);
  }

  /** Commits the deletions (RFC 1939 §6) and closes the connection. */
  async quit(): Promise<void> {
    try {
      await quit(this.conn);
    } finally {
      this.conn.end();
    }
  }

  /** Drops the connection without QUIT: nothing marked by DELE is deleted. */
  close(): void {
    this.conn.destroy();
  }
}
