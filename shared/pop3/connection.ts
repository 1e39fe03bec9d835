/**
 * @module One POP3 connection: owns the socket, the queue of commands awaiting replies, the
 * timeouts, backpressure and the STLS switch. Command modules (commands/*.ts) call send() and
 * interpret the reply; nothing here knows what a command means.
 *
 * Replies are matched to commands strictly in order (RFC 1939 §3). Without pipelining one
 * command is on the wire at a time; with it, up to PIPELINE_WINDOW (RFC 2449 §6.6).
 *
 * Three clocks: the idle timer (silence, restarts on every byte), the whole-reply deadline of the
 * reply at the front (greeting, status lines, listings; not a RETR body), and the session's
 * overall deadline, which never restarts or pauses and ends everything in flight.
 */
import type net from "node:net";
import tls from "node:tls";
import { AppError, isAppError, toAppError } from "../errors.js";
import type { CommandResult, Pop3Command } from "./command.js";
import { ReplyFramer } from "./framer.js";
import { PIPELINE_WINDOW } from "./limits.js";
import { parseReply, type Pop3Reply } from "./reply.js";
import { unexpectedReply } from "./reply-errors.js";
import { BodyStream, ListingSink } from "./sinks.js";
import { classifySocketError, connectionLost, replyTooSlow, timedOut } from "./socket-errors.js";
import { timerMs, type SessionDeadline } from "./deadline.js";

export interface ConnectionSettings {
  greetingTimeoutMs: number;
  idleTimeoutMs: number;
  /** Whole-reply deadline of everything but a message body. */
  replyDeadlineMs: number;
  maxMessageBytes: number;
  /** The session's overall deadline, started before connect: the connection ends when it passes. */
  deadline: SessionDeadline;
}

interface Pending {
  command: Pop3Command;
  /** Longest silence while this reply is due. */
  timeoutMs: number;
  /** The whole reply (status line, and listing if any) must be in this long after it is due. */
  replyMs: number;
  written: boolean;
  listing?: ListingSink;
  reply?: Pop3Reply;
  resolve(result: CommandResult): void;
  reject(err: AppError): void;
}

const GREETING: Pop3Command = { line: "", display: "(greeting)", expect: "line" };

export class Pop3Connection {
  /** Set by the session once logged in, if CAPA lists PIPELINING. */
  pipelining = false;
  readonly stats = { bytesReceived: 0, reads: 0, peakBufferedBytes: 0 };
  private framer = new ReplyFramer(this.framerHandler());
  private readonly queue: Pending[] = [];
  private written = 0;
  private closed: AppError | undefined;
  /** Idle timer: restarts on every byte. */
  private timer: NodeJS.Timeout | undefined;
  /** Whole-reply deadline of the reply at the front of the queue. */
  private replyTimer: NodeJS.Timeout | undefined;
  private readonly deadlineTimer: NodeJS.Timeout;
  private paused = false;
  /** Between the "+OK" to STLS and the end of the handshake nothing may be written in clear. */
  private holdWrites = false;
  /** The TLS handshake after STLS is under way: what the deadline interrupts when no reply is due. */
  private upgrading = false;
  private activeBody: BodyStream | undefined;

  constructor(
    private socket: net.Socket,
    private readonly settings: ConnectionSettings,
  ) {
    this.attach(socket);
    // Runs whatever the socket does, paused for backpressure included.
    this.deadlineTimer = setTimeout(
      () => this.fail(settings.deadline.expire(this.queue[0]?.command.display ?? (this.upgrading ? "STLS" : undefined))),
      timerMs(settings.deadline.remainingMs()),
    );
  }

  get secure(): boolean {
    return this.socket instanceof tls.TLSSocket;
  }

  /** Milliseconds left before the session's overall deadline. */
  get remainingMs(): number {
    return this.settings.deadline.remainingMs();
  }

  /** The greeting (RFC 1939 §4) is the reply to a command nobody sent. */
  async readGreeting(): Promise<Pop3Reply> {
    // The greeting timeout counts from connected to the whole greeting line, not between its bytes.
    const { greetingTimeoutMs, replyDeadlineMs } = this.settings;
    const result = await this.enqueue(GREETING, greetingTimeoutMs, Math.min(greetingTimeoutMs, replyDeadlineMs), true);
    return result.reply;
  }

  send(command: Pop3Command): Promise<CommandResult> {
    return this.enqueue(command, this.settings.idleTimeoutMs, this.settings.replyDeadlineMs, false);
  }

  /** After the "+OK" to STLS: hand the socket to TLS, then start over with fresh framing. */
  async startTls(upgrade: (plain: net.Socket) => Promise<net.Socket>): Promise<void> {
    const plain = this.socket;
    this.detach(plain);
    plain.on("error", () => {}); // from here on, errors surface through the TLS socket
    this.upgrading = true;
    try {
      this.socket = await upgrade(plain);
    } catch (err) {
      // The deadline may have passed meanwhile (it destroys the plain socket under the handshake):
      // report that, not the handshake failure it caused.
      const e = this.closed ?? toAppError(err);
      this.fail(e);
      throw e;
    } finally {
      this.upgrading = false;
    }
    this.framer = new ReplyFramer(this.framerHandler());
    this.attach(this.socket);
    this.holdWrites = false;
    this.pump();
  }

  /** Graceful end after QUIT. */
  end(): void {
    this.markClosed(new AppError("CONNECTION_LOST", "The POP3 session is closed."));
    this.socket.end();
  }

  /** Drops the connection; commands in flight fail with CONNECTION_LOST, deletions are not committed. */
  destroy(): void {
    this.fail(new AppError("CONNECTION_LOST", "The POP3 session was closed by the client."));
  }

  private enqueue(command: Pop3Command, timeoutMs: number, replyMs: number, written: boolean): Promise<CommandResult> {
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => {
      this.queue.push({ command, timeoutMs, replyMs, written, resolve, reject });
      if (written) this.written++;
      this.pump();
    });
  }

  private pump(): void {
    const window = this.pipelining ? PIPELINE_WINDOW : 1;
    this.socket.cork(); // a pipelined batch leaves in one segment
    while (!this.holdWrites && this.written < this.queue.length && this.written < window) {
      const next = this.queue[this.written];
      if (next === undefined) break;
      next.written = true;
      this.written++;
      this.socket.write(`${next.command.line}\r\n`, "utf8");
    }
    this.socket.uncork();
    this.armTimer();
  }

  private framerHandler(): ConstructorParameters<typeof ReplyFramer>[0] {
    return { onLine: (line) => this.onLine(line), onBodyEnd: () => this.onBodyEnd() };
  }

  private onLine(raw: Buffer): void {
    const front = this.queue[0];
    if (front?.written !== true) throw unexpectedReply(undefined, raw.toString("utf8"), "a reply arrived before any command");
    const { command } = front;
    const reply = parseReply(raw);
    if (!reply) throw unexpectedReply(command.display, raw.toString("utf8"), "neither +OK nor -ERR");
    if (reply.continuation && command.allowContinuation !== true) {
      throw unexpectedReply(command.display, reply.line, "a continuation outside AUTH");
    }
    if (reply.ok && command.startsTls === true) {
      this.framer.stop();
      this.holdWrites = true;
    }
    if (!reply.ok || command.expect === "line") {
      this.shift();
      front.resolve({ reply, lines: [], body: undefined });
      return;
    }
    front.reply = reply;
    if (command.expect === "lines") {
      front.listing = new ListingSink();
      this.framer.startBody(front.listing);
      return;
    }
    const body = new BodyStream(this.settings.maxMessageBytes, (from) => this.onDemand(from));
    this.activeBody = body;
    this.framer.startBody(body);
    front.resolve({ reply, lines: [], body });
  }

  private onBodyEnd(): void {
    const front = this.shift();
    this.activeBody = undefined;
    if (front?.listing && front.reply) front.resolve({ reply: front.reply, lines: front.listing.lines(), body: undefined });
  }

  private shift(): Pending | undefined {
    const front = this.queue.shift();
    if (front?.written === true) this.written--;
    this.clearReplyTimer(); // the next reply gets its own
    this.pump();
    return front;
  }

  private onData = (chunk: Buffer): void => {
    if (this.closed) return;
    this.stats.bytesReceived += chunk.length;
    this.stats.reads++;
    try {
      this.framer.push(chunk);
    } catch (err) {
      this.fail(this.withCommand(err));
      return;
    }
    const buffered = this.framer.bufferedBytes + (this.activeBody?.readableLength ?? 0);
    this.stats.peakBufferedBytes = Math.max(this.stats.peakBufferedBytes, buffered);
    if (this.activeBody?.backpressured === true && !this.paused) {
      this.paused = true; // the consumer is slower than the server: let TCP flow control push back
      this.socket.pause();
    }
    this.timer?.refresh();
    this.armTimer();
  };

  /** Limits and parse errors are raised without context; name the command they interrupted. */
  private withCommand(err: unknown): AppError {
    const e = isAppError(err) ? err : toAppError(err);
    const command = this.queue[0]?.command.display;
    if (e.command !== undefined || command === undefined) return e;
    return new AppError(e.code, e.message, { command, response: e.response, cause: e.cause, transient: e.transient });
  }

  /**
   * A body stream wants more or was destroyed. The stream being filled asking is enough: Readable
   * calls _read() before it takes data out of its buffer, so it may still look full. An older
   * stream's consumer reading says nothing about the filling one, so check that one then.
   */
  private onDemand(from: BodyStream): void {
    if (!this.paused || this.closed) return;
    if (from !== this.activeBody && this.activeBody?.backpressured === true) return;
    this.paused = false;
    this.socket.resume();
    this.armTimer();
  }

  /**
   * The idle and whole-reply clocks run only while we wait on the server: a reply is due and we
   * are not pausing on purpose. After a pause the reply clock starts over: only the previous
   * body's slow consumer can pause the socket while this reply is due, never the server.
   */
  private armTimer(): void {
    const front = this.queue[0];
    if (front?.written !== true || this.paused || this.closed) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.clearReplyTimer();
      return;
    }
    this.timer ??= setTimeout(() => {
      const what = this.queue[0]?.command === GREETING ? "greeting" : "idle";
      this.fail(timedOut(what, this.queue[0]?.command.display));
    }, front.timeoutMs);
    // Once a RETR's "+OK" is in, its body is bounded by the session deadline only.
    if (front.command.expect === "stream" && front.reply !== undefined) this.clearReplyTimer();
    else this.replyTimer ??= setTimeout(() => this.fail(replyTooSlow(front.replyMs, front.command.display)), timerMs(front.replyMs));
  }

  private clearReplyTimer(): void {
    clearTimeout(this.replyTimer);
    this.replyTimer = undefined;
  }

  private onError = (err: unknown): void => {
    this.fail(classifySocketError(err, "session", this.queue[0]?.command.display));
  };

  private onClose = (): void => {
    if (this.queue.length > 0 || this.activeBody) this.fail(connectionLost(this.queue[0]?.command.display));
    else this.markClosed(connectionLost());
  };

  private fail(err: AppError): void {
    if (this.closed) return;
    this.markClosed(err);
    this.framer.stop();
    const pending = this.queue.splice(0);
    this.written = 0;
    for (const p of pending) p.reject(err);
    this.activeBody?.destroy(err);
    this.activeBody = undefined;
    this.socket.destroy();
  }

  private markClosed(err: AppError): void {
    this.closed ??= err;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.clearReplyTimer();
    clearTimeout(this.deadlineTimer);
  }

  private attach(socket: net.Socket): void {
    // Commands are tiny and each waits on a reply (or a window refill): Nagle would only add delay.
    socket.setNoDelay(true);
    socket.on("data", this.onData);
    socket.on("error", this.onError);
    socket.on("close", this.onClose);
  }

  private detach(socket: net.Socket): void {
    socket.removeListener("data", this.onData);
    socket.removeListener("error", this.onError);
    socket.removeListener("close", this.onClose);
  }
}
