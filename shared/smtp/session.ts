/**
 * @module One SMTP session per profile endpoint, over nodemailer's SMTPConnection: connect (TLS or
 * STARTTLS), log in, then any number of transactions on the same connection. Connecting and
 * logging in are separate from sending, so the caller can tell a failure of the connection (the
 * mailbox's) from a failure of one message (that email's). Every failure is an AppError.
 */
import type { Readable } from "node:stream";
import SMTPConnection, { type SMTPConnectionSendInfo } from "nodemailer/lib/smtp-connection";
import { AppError } from "../errors.js";
import { classifySmtpError } from "./classify.js";
import { authFor, connectionOptions, type SmtpClientOptions, type SmtpCredentials, type SmtpEndpoint } from "./options.js";

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
  /** False once the connection is closed (by either side). */
  readonly alive: boolean;
  /** QUIT, then close. */
  quit(): void;
  /** Drops the connection at once: data sent without its end marker is discarded (RFC 5321 §4.1.1.4). */
  close(): void;
}

/**
 * nodemailer reports a failure while connecting or logging in through its 'error' event, and
 * some only there; whichever comes first settles the step.
 */
function step(conn: SMTPConnection, run: (done: (err?: unknown) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: unknown): void => finish(err ?? new AppError("CONNECTION_LOST", "The SMTP server closed the connection."));
    const onEnd = (): void => finish(new AppError("CONNECTION_LOST", "The SMTP server closed the connection."));
    let settled = false;
    function finish(err?: unknown): void {
      if (settled) return;
      settled = true;
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

export async function openSmtpSession(endpoint: SmtpEndpoint, credentials: SmtpCredentials, options: SmtpClientOptions = {}): Promise<SmtpSession> {
  const conn = new SMTPConnection(connectionOptions(endpoint, options));
  // Errors during a transaction also arrive through the send callback; this keeps an 'error'
  // event with nobody listening from crashing the process.
  conn.on("error", () => undefined);
  try {
    await step(conn, (done) => conn.connect((err) => done(err)));
    // RFC 4954 §3: AUTH only when the server advertises it (a relay may trust the client's address).
    if (conn.allowsAuth) await step(conn, (done) => conn.login(authFor(endpoint.authProtocol, credentials), (err) => done(err)));
  } catch (err) {
    conn.close();
    throw err;
  }
  return {
    get alive() {
      return !conn.destroyed;
    },
    send(envelope, message) {
      return new Promise((resolve, reject) => {
        conn.send(envelope, message, (err, info: SMTPConnectionSendInfo) => {
          if (err) reject(classifySmtpError(err));
          else resolve({ accepted: info.accepted, rejected: info.rejected, response: info.response });
        });
      });
    },
    reset() {
      return step(conn, (done) => conn.reset((err) => done(err)));
    },
    quit() {
      if (!conn.destroyed) conn.quit();
    },
    close() {
      conn.close();
    },
  };
}
