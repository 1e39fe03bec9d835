/**
 * @module Classifies Node socket and TLS errors into AppError codes. Decided by `err.code`,
 * never by message text.
 */
import { AppError } from "../errors.js";
import { formatMs } from "./deadline.js";
import { UNREACHABLE_CODES as UNREACHABLE, UNTRUSTED_CERTIFICATE_CODES as UNTRUSTED } from "../net/socketErrorCodes.js";

/** Where the connection was when the error happened: the same ECONNRESET means different things. */
export type SocketPhase = "connect" | "tls" | "session";

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

export function classifySocketError(err: unknown, phase: SocketPhase, command?: string): AppError {
  const code = errorCode(err);
  const options = { cause: err, command };
  if (code !== undefined && UNTRUSTED.has(code)) {
    return new AppError("TLS_CERTIFICATE_UNTRUSTED", `The POP3 server's TLS certificate is not trusted (${code}).`, options);
  }
  if (code !== undefined && UNREACHABLE.has(code)) {
    return new AppError("NETWORK_UNREACHABLE", `The POP3 server cannot be reached (${code}).`, options);
  }
  if (code === "ETIMEDOUT") {
    return new AppError("CONNECTION_TIMEOUT", "The connection to the POP3 server timed out.", options);
  }
  if (phase === "tls") {
    return new AppError("TLS_HANDSHAKE_FAILED", `The TLS handshake with the POP3 server failed${code ? ` (${code})` : ""}.`, options);
  }
  if (phase === "connect" && code !== "ECONNRESET") {
    return new AppError("NETWORK_UNREACHABLE", `The POP3 server cannot be reached${code ? ` (${code})` : ""}.`, options);
  }
  return connectionLost(command, err);
}

export function connectionLost(command?: string, cause?: unknown): AppError {
  return new AppError("CONNECTION_LOST", "The POP3 server closed the connection unexpectedly.", { command, cause });
}

export function timedOut(what: string, command?: string): AppError {
  return new AppError("CONNECTION_TIMEOUT", `The POP3 server did not answer in time (${what}).`, { command });
}

/** A reply other than a message body that trickled in for longer than its whole-reply deadline. */
export function replyTooSlow(ms: number, command?: string): AppError {
  return new AppError("CONNECTION_TIMEOUT", `The POP3 server did not complete its reply within ${formatMs(ms)}.`, { command });
}
