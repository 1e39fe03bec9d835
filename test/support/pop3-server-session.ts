/**
 * @module One connection to the test POP3 server: a small RFC 1939/2449/2595/5034 state machine
 * that answers in order (real servers handle a pipeline the same way) and can misbehave on cue.
 * SASL XOAUTH2 answers a bad token the way Gmail and Microsoft 365 do: a "+ " challenge with a
 * base64 JSON error, then "-ERR" once the client has acknowledged it with an empty line.
 */
import { createHash } from "node:crypto";
import type net from "node:net";
import tls from "node:tls";
import type { Pop3TestServerOptions, Pop3TestServerStats, StoredMessage } from "./pop3-server.js";
import { retrReply, writeReply } from "./pop3-wire.js";

/** What a session needs from the server it belongs to. */
export interface TestServerContext {
  readonly options: Pop3TestServerOptions;
  readonly stats: Pop3TestServerStats;
  readonly credentials: { key: Buffer; cert: Buffer };
  hasUser(user: string): boolean;
  maildropOf(user: string): StoredMessage[];
  setMaildrop(user: string, messages: StoredMessage[]): void;
}

const EMPTY = Buffer.alloc(0);

export class TestServerSession {
  private input = EMPTY;
  private readonly lines: string[] = [];
  private processing = false;
  private busy = false;
  private stalled: boolean;
  private loggedIn = false;
  /** Whose maildrop this session reads, once logged in. */
  private user = "";
  private pendingUser: string | undefined;
  /** The SASL exchange awaiting a client line: a mechanism's response, or the XOAUTH2 error ack. */
  private saslPending: "PLAIN" | "XOAUTH2" | "XOAUTH2-ERROR" | undefined;
  /** Message numbers are fixed for the session (RFC 1939 §5); index = msgNo - 1. */
  private snapshot: StoredMessage[] = [];
  private readonly deleted = new Set<number>();

  constructor(
    private readonly server: TestServerContext,
    private socket: net.Socket,
    private secure: boolean,
  ) {
    this.stalled = server.options.stallOn === "GREETING";
    socket.on("error", () => {});
    socket.on("data", this.onData);
    const stamp = server.options.apop ? ` ${server.options.apopTimestamp}` : "";
    if (!this.stalled) void this.reply(`+OK POP3 test server ready${stamp}`, "GREETING");
  }

  private get o(): Pop3TestServerOptions {
    return this.server.options;
  }

  private onData = (chunk: Buffer): void => {
    this.input = Buffer.concat([this.input, chunk]);
    for (let at = this.input.indexOf("\r\n"); at !== -1; at = this.input.indexOf("\r\n")) {
      const line = this.input.subarray(0, at).toString("latin1");
      this.input = this.input.subarray(at + 2);
      this.server.stats.commands.push({ line, secure: this.secure });
      if (this.o.onCommand?.(line) === "drop") {
        this.input = EMPTY;
        this.lines.length = 0;
        this.socket.destroy();
        return;
      }
      if (!this.secure && line.includes(this.o.password)) this.server.stats.credentialsInClear = true;
      if ((this.busy || this.lines.length > 0) && !this.o.pipelining) this.server.stats.pipelineViolations++;
      this.lines.push(line);
      this.server.stats.maxQueuedCommands = Math.max(this.server.stats.maxQueuedCommands, this.lines.length + (this.busy ? 1 : 0));
    }
    void this.drain();
  };

  private async drain(): Promise<void> {
    if (this.processing) return;
    this.processing = true;
    for (let line = this.lines.shift(); line !== undefined && !this.stalled && !this.socket.destroyed; line = this.lines.shift()) {
      this.busy = true;
      await this.handle(line);
      this.busy = false;
    }
    this.processing = false;
  }

  private async send(reply: Buffer, command: string): Promise<void> {
    await writeReply(this.socket, reply, command, this.o, () => this.server.stats.drainWaits++);
  }

  private reply(line: string, command: string): Promise<void> {
    return this.send(Buffer.from(`${line}\r\n`, "latin1"), command);
  }

  private listing(status: string, lines: string[], command: string): Promise<void> {
    return this.send(Buffer.from([status, ...lines, "."].map((l) => `${l}\r\n`).join(""), "latin1"), command);
  }

  private async handle(line: string): Promise<void> {
    if (this.saslPending !== undefined) return this.saslResponse(line);
    const [word = "", ...args] = line.split(" ");
    const verb = word.toUpperCase();
    if (verb === this.o.stallOn) {
      this.stalled = true; // never answer this or anything after it
      return;
    }
    const credential = ["PASS", "APOP", "AUTH"].includes(verb);
    if (credential && !this.secure) this.server.stats.credentialsInClear = true;
    if (!this.loggedIn) return this.authorization(verb, args);
    return this.transaction(verb, args);
  }

  private async authorization(verb: string, args: string[]): Promise<void> {
    const o = this.o;
    switch (verb) {
      case "CAPA":
        if (!o.capa) return this.reply("-ERR Unknown command", verb);
        return this.listing("+OK Capability list follows", this.capabilities(), verb);
      case "STLS":
        return this.startTls();
      case "USER":
        if (!o.user) return this.reply("-ERR USER not allowed", verb);
        this.pendingUser = args[0];
        return this.reply("+OK", verb);
      case "PASS":
        if (!o.user || this.pendingUser === undefined) return this.reply("-ERR USER first", verb);
        return this.login(this.userFor("", this.pendingUser, args.join(" ")), verb);
      case "APOP": {
        if (!o.apop) return this.reply("-ERR APOP not allowed", verb);
        const digest = createHash("md5").update(o.apopTimestamp + o.password).digest("hex");
        return this.login(args[0] === o.userName && args[1] === digest ? o.userName : undefined, verb);
      }
      case "AUTH": {
        const mechanism = args[0]?.toUpperCase();
        if (mechanism !== "PLAIN" && mechanism !== "XOAUTH2") return this.reply("-ERR Unsupported mechanism", verb);
        if (!this.saslOffers().includes(mechanism)) return this.reply("-ERR Unsupported mechanism", verb);
        this.saslPending = mechanism;
        if (args[1] !== undefined) return this.saslResponse(args[1]);
        return this.reply("+ ", verb);
      }
      case "QUIT":
        await this.reply("+OK Bye", verb);
        this.socket.end();
        return;
      default:
        return this.reply("-ERR Not logged in", verb);
    }
  }

  private saslResponse(blob: string): Promise<void> {
    const mechanism = this.saslPending;
    this.saslPending = undefined;
    if (!this.secure) this.server.stats.credentialsInClear = true;
    // Whatever acknowledges the XOAUTH2 error challenge (an empty line is expected), login failed.
    if (mechanism === "XOAUTH2-ERROR") return this.login(undefined, "AUTH");
    if (blob === "*") return this.reply("-ERR Cancelled", "AUTH");
    if (mechanism === "XOAUTH2") return this.xoauth2(blob);
    // RFC 4616 §2: authzid NUL authcid NUL passwd, in UTF-8.
    const parts = Buffer.from(blob, "base64").toString("utf8").split("\0");
    if (parts.length !== 3 || Buffer.from(blob, "base64").toString("base64") !== blob) return this.login(undefined, "AUTH");
    const [authzid = "", authcid, passwd] = parts;
    return this.login(this.userFor(authzid, authcid, passwd), "AUTH");
  }

  /**
   * The maildrop a login opens, or undefined when refused: userName with its password, or (with a
   * master user) the user named by the authzid or before the separator, with the master password.
   */
  private userFor(authzid: string, authcid: string | undefined, passwd: string | undefined): string | undefined {
    const o = this.o;
    if (authcid === o.userName && passwd === o.password && (authzid === "" || authzid === o.userName)) return o.userName;
    const m = o.master;
    if (m === undefined || authcid === undefined || passwd !== m.password) return undefined;
    const suffix = `${m.separator}${m.userName}`;
    const target = authcid === m.userName ? authzid : authzid === "" && authcid.endsWith(suffix) ? authcid.slice(0, -suffix.length) : "";
    return target !== "" && this.server.hasUser(target) ? target : undefined;
  }

  private xoauth2(blob: string): Promise<void> {
    const expected = Buffer.from(`user=${this.o.userName}\x01auth=Bearer ${this.o.accessToken}\x01\x01`).toString("base64");
    if (blob === expected || this.o.loginError !== undefined) return this.login(blob === expected ? this.o.userName : undefined, "AUTH");
    this.saslPending = "XOAUTH2-ERROR";
    const error = Buffer.from(JSON.stringify({ status: "401", schemes: "bearer" })).toString("base64");
    return this.reply(`+ ${error}`, "AUTH");
  }

  private saslOffers(): string[] {
    return [...(this.o.saslPlain ? ["PLAIN"] : []), ...(this.o.accessToken !== undefined ? ["XOAUTH2"] : [])];
  }

  private login(user: string | undefined, verb: string): Promise<void> {
    if (this.o.loginError !== undefined) return this.reply(this.o.loginError, verb);
    if (user === undefined) return this.reply("-ERR [AUTH] Authentication failed.", verb);
    this.loggedIn = true;
    this.user = user;
    this.snapshot = [...this.server.maildropOf(user)];
    return this.reply("+OK Logged in.", verb);
  }

  private capabilities(): string[] {
    const o = this.o;
    const caps = ["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE"];
    if (o.user) caps.push("USER");
    const sasl = this.saslOffers();
    if (sasl.length > 0) caps.push(`SASL ${sasl.join(" ")}`);
    if (o.stls && !this.secure) caps.push("STLS");
    if (o.pipelining) caps.push("PIPELINING");
    return caps;
  }

  /** RFC 2595 §4: "+OK", then the handshake; anything read before it is dropped. */
  private async startTls(): Promise<void> {
    if (!this.o.stls || this.secure) return this.reply("-ERR STLS not available", "STLS");
    const inject = this.o.injectAfterStls ?? EMPTY;
    // One write, so the injected bytes travel with the +OK as an attacker's would.
    await new Promise<void>((resolve) => this.socket.write(Buffer.concat([Buffer.from("+OK Begin TLS negotiation\r\n"), Buffer.from(inject)]), () => resolve()));
    const plain = this.socket;
    plain.removeListener("data", this.onData);
    this.input = EMPTY;
    this.lines.length = 0;
    const secure = new tls.TLSSocket(plain, { isServer: true, ...this.server.credentials });
    secure.on("error", () => {});
    secure.on("data", this.onData);
    this.socket = secure;
    this.secure = true;
  }

  private message(arg: string | undefined): StoredMessage | undefined {
    const n = Number(arg);
    if (!Number.isInteger(n) || n < 1 || this.deleted.has(n)) return undefined;
    return this.snapshot[n - 1];
  }

  private live(): { n: number; m: StoredMessage }[] {
    return this.snapshot.map((m, i) => ({ n: i + 1, m })).filter(({ n }) => !this.deleted.has(n));
  }

  private async transaction(verb: string, args: string[]): Promise<void> {
    const live = this.live();
    switch (verb) {
      case "CAPA":
        return this.listing("+OK Capability list follows", this.capabilities(), verb);
      case "STAT":
        return this.reply(`+OK ${live.length} ${live.reduce((s, { m }) => s + m.body.length, 0)}`, verb);
      case "LIST":
        return this.listing(`+OK ${live.length} messages`, live.map(({ n, m }) => `${n} ${m.body.length}`), verb);
      case "UIDL":
        return this.listing("+OK", live.map(({ n, m }) => `${n} ${m.uid}`), verb);
      case "RETR":
        return this.retr(args[0]);
      case "DELE":
        if (!this.message(args[0])) return this.reply("-ERR No such message", verb);
        this.deleted.add(Number(args[0]));
        return this.reply("+OK Marked", verb);
      case "NOOP":
        return this.reply("+OK", verb);
      case "RSET":
        this.deleted.clear();
        return this.reply("+OK", verb);
      case "QUIT": {
        // RFC 1939 §6: only now are marked messages removed.
        const gone = new Set([...this.deleted].map((n) => this.snapshot[n - 1]));
        this.server.setMaildrop(this.user, this.server.maildropOf(this.user).filter((m) => !gone.has(m)));
        await this.reply("+OK Bye", verb);
        this.socket.end();
        return;
      }
      default:
        return this.reply("-ERR Unknown command", verb);
    }
  }

  private async retr(arg: string | undefined): Promise<void> {
    const m = this.message(arg);
    if (!m) return this.reply("-ERR No such message", "RETR");
    const reply = retrReply(`+OK ${m.body.length} octets`, m.body);
    if (this.o.stallRetrAfterBytes !== undefined) {
      this.stalled = true;
      return this.send(reply.subarray(0, this.o.stallRetrAfterBytes), "RETR");
    }
    const drop = this.o.dropRetrAfterBytes;
    if (drop === undefined) return this.send(reply, "RETR");
    await this.send(reply.subarray(0, drop), "RETR");
    await new Promise<void>((resolve) => this.socket.write(EMPTY, () => resolve())); // flushed
    this.socket.destroy();
  }
}
