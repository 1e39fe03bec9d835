/**
 * @module nodemailer errors as AppErrors. Decided by nodemailer's `code`, the socket's
 * `originalCode`, the reply code and the command, never by message text. RFC 5321 §4.2.1: a
 * 4yz reply is a transient negative completion (retry later), a 5yz reply a permanent one.
 * A reply quoted in a message is cleaned and cut short (quoteServer); `response` keeps it whole.
 */
import type { NodemailerError } from "nodemailer/lib/errors";
import { AppError, isAppError, type ErrorCode } from "../errors.js";
import { UNREACHABLE_CODES as UNREACHABLE, UNTRUSTED_CERTIFICATE_CODES as UNTRUSTED } from "../net/socketErrorCodes.js";
import { quoteServer } from "../net/quote.js";

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);
/** The server's reply as it may appear in a message. */
const quoted = (e: NodemailerError): string => quoteServer(typeof e.response === "string" ? e.response : "");

/** A reply-coded failure: 4yz transient, 5yz permanent (RFC 5321 §4.2.1). */
function byReply(reply: number, permanent: ErrorCode, what: string, e: NodemailerError): AppError {
  const opts = { cause: e, command: e.command, response: e.response };
  if (reply >= 400 && reply < 500) return new AppError("SMTP_TRANSIENT_FAILURE", `The SMTP server refused ${what} for now: ${quoted(e)}`, opts);
  return new AppError(permanent, `The SMTP server refused ${what}: ${quoted(e)}`, opts);
}

function authError(e: NodemailerError, reply: number | undefined): AppError {
  const opts = { cause: e, command: e.command, response: e.response };
  const said = quoted(e) ? `: ${quoted(e)}` : ".";
  // RFC 4954 §4 and §6: 504 unknown mechanism, 534 mechanism too weak, 538 encryption required,
  // 454 temporary authentication failure; everything else is a refused login.
  if (reply === 504 || reply === 534) return new AppError("AUTH_MECHANISM_UNSUPPORTED", `The SMTP server does not accept this authentication mechanism${said}`, opts);
  if (reply === 538) return new AppError("TLS_REQUIRED", `The SMTP server requires encryption before authentication${said}`, opts);
  const transient = reply !== undefined && reply >= 400 && reply < 500;
  return new AppError("AUTH_FAILED", `The SMTP server refused the login${said}`, { ...opts, transient });
}

export function classifySmtpError(err: unknown): AppError {
  if (isAppError(err)) return err;
  const e = (err ?? {}) as NodemailerError;
  const code = str(e.code);
  const original = str(e.originalCode);
  const reply = typeof e.responseCode === "number" ? e.responseCode : undefined;
  const opts = { cause: err, command: e.command, response: e.response };
  if (original !== undefined && UNTRUSTED.has(original)) {
    return new AppError("TLS_CERTIFICATE_UNTRUSTED", `The SMTP server's TLS certificate is not trusted (${original}).`, opts);
  }
  switch (code) {
    case "EAUTH":
      return authError(e, reply);
    case "ENOAUTH":
      return new AppError("CREDENTIALS_MISSING", "No credentials to log in to the SMTP server.", opts);
    case "ETLS":
      // A reply means the server refused or does not offer STARTTLS (RFC 3207 §4).
      return reply !== undefined
        ? new AppError("TLS_REQUIRED", `The SMTP server did not upgrade to TLS: ${quoted(e)}`, opts)
        : new AppError("TLS_HANDSHAKE_FAILED", `The TLS handshake with the SMTP server failed${original ? ` (${original})` : ""}.`, opts);
    case "EDNS":
      return new AppError("NETWORK_UNREACHABLE", `The SMTP server's host name cannot be resolved${original ? ` (${original})` : ""}.`, opts);
    case "ETIMEDOUT":
      return new AppError("CONNECTION_TIMEOUT", `The SMTP server did not answer in time (${e.timeoutType ?? "timeout"}).`, opts);
    case "EENVELOPE":
      if (reply === undefined) return new AppError("SMTP_PERMANENT_FAILURE", "The message's envelope is not valid.", opts);
      return byReply(reply, e.command === "RCPT TO" ? "SMTP_RECIPIENT_REJECTED" : "SMTP_PERMANENT_FAILURE", e.command === "RCPT TO" ? "the recipients" : "the message", e);
    case "EMESSAGE":
      if (reply === undefined) return new AppError("SMTP_PERMANENT_FAILURE", "The message is larger than the SMTP server accepts.", opts);
      return byReply(reply, "SMTP_PERMANENT_FAILURE", "the message", e);
    case "EPROTOCOL":
      return new AppError("PROTOCOL_ERROR", `The SMTP server answered unexpectedly${quoted(e) ? `: ${quoted(e)}` : "."}`, opts);
  }
  if (reply !== undefined && reply >= 400) return byReply(reply, "SMTP_PERMANENT_FAILURE", "the session", e);
  if (original !== undefined && UNREACHABLE.has(original)) {
    return new AppError("NETWORK_UNREACHABLE", `The SMTP server cannot be reached (${original}).`, opts);
  }
  if (original === "ETIMEDOUT") return new AppError("CONNECTION_TIMEOUT", "The connection to the SMTP server timed out.", opts);
  if (original !== undefined && /^ERR_(SSL|TLS)_/.test(original)) {
    return new AppError("TLS_HANDSHAKE_FAILED", `The TLS handshake with the SMTP server failed (${original}).`, opts);
  }
  return new AppError("CONNECTION_LOST", "The SMTP server closed the connection unexpectedly.", opts);
}
