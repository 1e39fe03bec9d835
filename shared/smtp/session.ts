/**
 * @module One SMTP session per profile endpoint, over nodemailer's SMTPConnection: connect (TLS or
 * STARTTLS), log in, then any number of transactions on the same connection. Connecting and
 * logging in are separate from sending, so the caller can tell a failure of the connection (the
 * mailbox's) from a failure of one message (that email's). Every failure is an AppError.
 *
 * The whole session runs under one overall deadline (SmtpClientOptions.deadlineMs): nodemailer's
 * connection, greeting and socket timeouts restart on every byte, so without it a server that
 * drip-feeds its replies holds a send run for ever.
 */
import net from "node:net";
import { performance } from "node:perf_hooks";
import { Readable } from "node:stream";
import SMTPConnection, { type SMTPConnectionSendInfo } from "nodemailer/lib/smtp-connection";
import { AppError } from "../errors.js";
import { classifySmtpError } from "./classify.js";
import { normalizeHost, pinHost } from "../net/hostPolicy.js";
import { authFor, connectionOptions, SMTP_TIMEOUTS, type SmtpClientOptions, type SmtpCredentials, type SmtpEndpoint } from "./options.js";

export interface SmtpEnvelope {
  from: string;
  to: string[];
}

export interface SmtpSendResult {
  accepted: string[];
  rejected: string[];
  /** The server's reply to the end of data, e.g. `250 2.0.0 Ok: queued as 4F2`. */
  response: string;
}

export interface SmtpSession {
  /** Runs one transaction (MAIL, RCPT..., DATA). Rejects with an AppError. */
  send(envelope: SmtpEnvelope, message: Buffer | Readable): Promise<SmtpSendResult>;
  /** RSET (RFC 5321 §4.1.1.5): ends a failed transaction so the next can start. */
  reset(): Promise<void>;
  /** False once the connection is closed (by either side, or by the deadline). */
  readonly alive: boolean;
  /** Milliseconds left before the session's overall deadline, 0 once passed. */
  readonly remainingMs: number;
  /** QUIT, then close. */
  quit(): void;
  /** Drops the connection at once: data sent without its end marker is discarded (RFC 5321 §4.1.1.4). */
  close(): void;
}

/** setTimeout fires at once (with a warning) for anything above 2^31 - 1 ms, Infinity included. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const formatMs = (ms: number): string => (ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`);

/**
 * The session's overall deadline. When it passes, whatever waits on the server is failed first
 * (with the deadline's error, not the "connection closed" that closing causes), then the
 * connection is closed. Its timer ends with the connection.
 */
class SessionDeadline {
  passed = false;
  private readonly at: number;
  private readonly waiting = new Set<() => void>();

  constructor(readonly ms: number, conn: SMTPConnection) {
    this.at = performance.now() + ms;
    const timer = setTimeout(() => {
      this.passed = true;
      for (const fail of [...this.waiting]) fail();
      conn.close();
    }, Math.min(Math.max(0, ms), MAX_TIMER_MS));
    conn.once("end", () => clearTimeout(timer));
  }

  remainingMs(): number {
    return this.passed ? 0 : Math.max(0, this.at - performance.now()); // timers may fire a fraction of a ms early
  }

  /** Runs `fail` if the deadline passes before the returned function is called. */
  watch(fail: () => void): () => void {
    this.waiting.add(fail);
    return () => this.waiting.delete(fail);
  }

  error(command: string, during: string): AppError {
    return new AppError("CONNECTION_TIMEOUT", `The SMTP session passed its overall deadline of ${formatMs(this.ms)} ${during}.`, { command });
  }

  /**
   * RFC 5321 §4.1.1.4: once the end of data is out the server may have taken the message, and no
   * reply came to say otherwise; never a retryable error (docs/decisions/0004-outgoing-exactly-once.md).
   */
  afterEndOfData(): AppError {
    return new AppError(
      "SEND_OUTCOME_UNKNOWN",
      `The SMTP session passed its overall deadline of ${formatMs(this.ms)} after the end of data went out, before the server answered.`,
      { command: "DATA", transient: false },
    );
  }
}

/**
 * nodemailer reports a failure while connecting or logging in through its 'error' event, and
 * some only there; whichever comes first settles the step, or the deadline.
 */
function step(conn: SMTPConnection, deadline: SessionDeadline, command: string, run: (done: (err?: unknown) => void) => void): Promise<void> {
  const during = command === "CONN" ? "while connecting (greeting, EHLO, STARTTLS)" : `during ${command}`;
  if (deadline.passed) return Promise.reject(deadline.error(command, during));
  return new Promise((resolve, reject) => {
    const onError = (err: unknown): void => finish(err ?? new AppError("CONNECTION_LOST", "The SMTP server closed the connection."));
    const onEnd = (): void => finish(new AppError("CONNECTION_LOST", "The SMTP server closed the connection."));
    const unwatch = deadline.watch(() => finish(deadline.error(command, during)));
    let settled = false;
    function finish(err?: unknown): void {
      if (settled) return;
      settled = true;
      unwatch();
      conn.off("error", onError);
      conn.off("end", onEnd);
      if (err === undefined || err === null) resolve();
      else reject(classifySmtpError(err));
    }
    conn.on("error", onError);
    conn.on("end", onEnd);
    run(finish);
  });
}

/**
 * The message as a stream whose 'end' tells that nodemailer took the last byte: it writes the end
 * of data (CRLF.CRLF) only after that (on the source's 'end', through pipe), never before.
 */
function observedSource(message: Buffer | Readable, onEnd: () => void): Readable {
  const source = Buffer.isBuffer(message)
    ? new Readable({ read() { this.push(message); this.push(null); } })
    : message;
  source.once("end", onEnd);
  return source;
}

function send(conn: SMTPConnection, deadline: SessionDeadline, envelope: SmtpEnvelope, message: Buffer | Readable): Promise<SmtpSendResult> {
  if (deadline.passed) return Promise.reject(deadline.error("MAIL FROM", "before the transaction began (the connection is closed)"));
  return new Promise((resolve, reject) => {
    let endOfDataMayBeOut = false;
    const source = observedSource(message, () => (endOfDataMayBeOut = true));
    const unwatch = deadline.watch(() =>
      reject(endOfDataMayBeOut ? deadline.afterEndOfData() : deadline.error("MAIL FROM/RCPT TO/DATA", "before the end of data went out")));
    conn.send(envelope, source, (err, info: SMTPConnectionSendInfo) => {
      unwatch();
      if (err) reject(classifySmtpError(err));
      else resolve({ accepted: info.accepted, rejected: info.rejected, response: info.response });
    });
  });
}

/**
 * The address to connect to, resolved once and checked (shared/net/hostPolicy.ts): nodemailer
 * gets the address and the name only for SNI and certificate checks, so it cannot resolve again.
 */
async function pinnedTarget(endpoint: SmtpEndpoint, options: SmtpClientOptions): Promise<{ host: string; servername?: string }> {
  const timeoutMs = Math.min(options.connectTimeoutMs ?? SMTP_TIMEOUTS.connectMs, options.deadlineMs ?? SMTP_TIMEOUTS.sessionMs);
  const host = await pinHost(endpoint.host, "SMTP server", timeoutMs).catch((err: unknown) => {
    if (err instanceof AppError) throw err;
    throw classifySmtpError(Object.assign(new Error("DNS lookup failed"), { code: "EDNS", originalCode: (err as { code?: unknown } | null)?.code }));
  });
  return net.isIP(normalizeHost(endpoint.host)) === 0 ? { host, servername: endpoint.host } : { host };
}

export async function openSmtpSession(endpoint: SmtpEndpoint, credentials: SmtpCredentials, options: SmtpClientOptions = {}): Promise<SmtpSession> {
  const conn = new SMTPConnection({ ...connectionOptions(endpoint, options), ...(await pinnedTarget(endpoint, options)) });
  // Errors during a transaction also arrive through the send callback; this keeps an 'error'
  // event with nobody listening from crashing the process.
  conn.on("error", () => undefined);
  const deadline = new SessionDeadline(options.deadlineMs ?? SMTP_TIMEOUTS.sessionMs, conn); // from the start of connect
  try {
    await step(conn, deadline, "CONN", (done) => conn.connect((err) => done(err)));
    // RFC 4954 §3: AUTH only when the server advertises it (a relay may trust the client's address).
    if (conn.allowsAuth) await step(conn, deadline, "AUTH", (done) => conn.login(authFor(endpoint.authProtocol, credentials), (err) => done(err)));
  } catch (err) {
    conn.close();
    throw err;
  }
  return {
    get alive() {
      return !conn.destroyed;
    },
    get remainingMs() {
      return deadline.remainingMs();
    },
    send(envelope, message) {
      return send(conn, deadline, envelope, message);
    },
    reset() {
      return step(conn, deadline, "RSET", (done) => conn.reset((err) => done(err)));
    },
    quit() {
      if (!conn.destroyed) conn.quit();
    },
    close() {
      conn.close();
    },
  };
}
