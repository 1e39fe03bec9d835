/**
 * @module A scriptable POP3 server for tests, on a real socket at 127.0.0.1:0. It keeps a maildrop
 * of exact bytes, dot-stuffs them on the way out, and can misbehave on purpose: split replies at
 * every byte or chosen offsets, drop the connection mid-RETR, refuse logins, stall, inject bytes
 * before the STLS handshake. It records what it received so tests can assert on the wire.
 *
 *   const server = await Pop3TestServer.start({ messages: [Buffer.from("Subject: a\r\n\r\nhi\r\n")] });
 *   const session = await Pop3Session.connect(server.clientOptions());
 *   ...
 *   await server.close();
 */
import { readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import type { Pop3ConnectOptions } from "../../shared/pop3/index.js";
import { TestServerSession } from "./pop3-server-session.js";
import type { SplitMode } from "./pop3-wire.js";

const TLS_DIR = new URL("../fixtures/tls/", import.meta.url);
const fixture = (name: string): Buffer => readFileSync(new URL(name, TLS_DIR));

/** The test CA that signed the "server" and "expired" certificates. */
export const TEST_CA = fixture("ca.crt");

export type TestCertificate = "server" | "untrusted" | "expired";

export interface StoredMessage {
  uid: string;
  body: Buffer;
}

export type MessageInput = Buffer | string | { body: Buffer | string; uid?: string };

export interface Pop3TestServerOptions {
  /** The maildrop of userName; message n is messages[n - 1]. Default uids are "uid-<n>". */
  messages: MessageInput[];
  userName: string;
  password: string;
  /** CAPA implemented; when false it answers "-ERR" (a pre-RFC 2449 server). */
  capa: boolean;
  /** Advertise PIPELINING; without it, commands that arrive early are counted as violations. */
  pipelining: boolean;
  /** Offer STLS (RFC 2595). */
  stls: boolean;
  /** Offer USER/PASS. */
  user: boolean;
  /** Offer SASL PLAIN (RFC 5034). */
  saslPlain: boolean;
  /**
   * A master user (Dovecot's term) who may log in as any user of `users` or as userName: with SASL
   * PLAIN naming that user as authzid (RFC 4616), or as "<user><separator><master>" with USER/PASS
   * or as the SASL PLAIN authcid. A master login reads the target user's maildrop.
   */
  master: { userName: string; password: string; separator: string } | undefined;
  /** Other users' maildrops, by login name (only the master user logs in to them). */
  users: Record<string, MessageInput[]>;
  /** Offer SASL XOAUTH2 and accept this bearer token for userName; undefined = not offered. */
  accessToken: string | undefined;
  /** Put apopTimestamp in the greeting and accept APOP. */
  apop: boolean;
  apopTimestamp: string;
  /** TLS from the first byte (like port 995). */
  implicitTls: boolean;
  /** Which fixture certificate TLS presents. */
  certificate: TestCertificate;
  /** How replies are cut into separate writes. */
  split: SplitMode;
  /** Delay between split pieces; 0 = one event-loop turn. */
  splitDelayMs: number;
  /** Write only this many bytes of each RETR reply, then drop the connection. */
  dropRetrAfterBytes: number | undefined;
  /** Write only this many bytes of each RETR reply, then go silent (connection left open). */
  stallRetrAfterBytes: number | undefined;
  /** Reply to the final login step regardless of credentials, e.g. "-ERR [IN-USE] Locked". */
  loginError: string | undefined;
  /** Verb at which the server stops answering for good ("GREETING" = never greet). */
  stallOn: string | undefined;
  /** Bytes sent in the same write as the "+OK" to STLS, before the handshake. */
  injectAfterStls: string | Buffer | undefined;
  /**
   * Called with each command line as it arrives, before it is handled. "drop" discards it (and
   * anything after it) and closes the connection, as if the client died before it was sent.
   */
  onCommand: ((line: string) => "drop" | void) | undefined;
}

export interface Pop3TestServerStats {
  connections: number;
  /** Every command line received, and whether TLS was on at the time. */
  commands: { line: string; secure: boolean }[];
  /** PASS, APOP or AUTH received, or the password seen, without TLS. */
  credentialsInClear: boolean;
  /** Commands received while another was unanswered, with PIPELINING not advertised. */
  pipelineViolations: number;
  /** Most commands received and not yet answered at one time. */
  maxQueuedCommands: number;
  /** Times a write waited for 'drain': the client applied backpressure. */
  drainWaits: number;
}

const DEFAULTS: Pop3TestServerOptions = {
  messages: [],
  userName: "alice",
  password: "s3cret-Pa55",
  capa: true,
  pipelining: false,
  stls: false,
  user: true,
  saslPlain: false,
  master: undefined,
  users: {},
  accessToken: undefined,
  apop: false,
  apopTimestamp: "<1896.697170952@dbc.mtview.ca.us>",
  implicitTls: false,
  certificate: "server",
  split: "none",
  splitDelayMs: 0,
  dropRetrAfterBytes: undefined,
  stallRetrAfterBytes: undefined,
  loginError: undefined,
  stallOn: undefined,
  injectAfterStls: undefined,
  onCommand: undefined,
};

const toStored = (messages: MessageInput[]): StoredMessage[] => messages.map((m, i) => {
  const { body, uid } = Buffer.isBuffer(m) || typeof m === "string" ? { body: m, uid: undefined } : m;
  return { uid: uid ?? `uid-${i + 1}`, body: Buffer.isBuffer(body) ? body : Buffer.from(body, "latin1") };
});

export class Pop3TestServer {
  /** userName's maildrop. */
  maildrop: StoredMessage[];
  /** The maildrops of `options.users`, by login name. */
  readonly maildrops = new Map<string, StoredMessage[]>();
  readonly stats: Pop3TestServerStats = {
    connections: 0, commands: [], credentialsInClear: false, pipelineViolations: 0, maxQueuedCommands: 0, drainWaits: 0,
  };
  readonly credentials: { key: Buffer; cert: Buffer };
  private readonly sockets = new Set<net.Socket>();
  private server: net.Server | undefined;

  /** Mutable: a test may change behaviour between connections (e.g. stop dropping). */
  private constructor(readonly options: Pop3TestServerOptions) {
    this.maildrop = toStored(options.messages);
    for (const [user, messages] of Object.entries(options.users)) this.maildrops.set(user, toStored(messages));
    this.credentials = { key: fixture(`${options.certificate}.key`), cert: fixture(`${options.certificate}.crt`) };
  }

  static async start(options: Partial<Pop3TestServerOptions> = {}): Promise<Pop3TestServer> {
    const s = new Pop3TestServer({ ...DEFAULTS, ...options });
    await s.listen();
    return s;
  }

  get port(): number {
    const address = this.server?.address();
    if (address === null || address === undefined || typeof address === "string") throw new Error("not listening");
    return address.port;
  }

  /** Options that connect a client to this server, trusting the test CA (and with its token, if any). */
  clientOptions(overrides: Partial<Pop3ConnectOptions> = {}): Pop3ConnectOptions {
    const { accessToken } = this.options;
    return {
      host: "127.0.0.1", port: this.port, useSsl: this.options.implicitTls, ca: TEST_CA,
      userName: this.options.userName, password: this.options.password, ...(accessToken === undefined ? {} : { accessToken }), ...overrides,
    };
  }

  /** Whether `user` has a maildrop here. */
  hasUser(user: string): boolean {
    return user === this.options.userName || this.maildrops.has(user);
  }

  maildropOf(user: string): StoredMessage[] {
    return user === this.options.userName ? this.maildrop : this.maildrops.get(user) ?? [];
  }

  setMaildrop(user: string, messages: StoredMessage[]): void {
    if (user === this.options.userName) this.maildrop = messages;
    else this.maildrops.set(user, messages);
  }

  /** How many commands with this verb were received. */
  count(verb: string): number {
    return this.stats.commands.filter((c) => c.line.split(" ")[0]?.toUpperCase() === verb.toUpperCase()).length;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private listen(): Promise<void> {
    const onSocket = (socket: net.Socket, secure: boolean): void => {
      this.stats.connections++;
      this.sockets.add(socket);
      socket.setNoDelay(true); // so split pieces leave as separate segments
      socket.on("close", () => this.sockets.delete(socket));
      new TestServerSession(this, socket, secure);
    };
    this.server = this.options.implicitTls
      ? tls.createServer(this.credentials, (socket) => onSocket(socket, true))
      : net.createServer((socket) => onSocket(socket, false));
    this.server.on("tlsClientError", () => {}); // a client rejecting our certificate is a test outcome
    const server = this.server;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
  }
}
