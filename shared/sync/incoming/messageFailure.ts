/**
 * @module Whose failure is it: the message's or the mailbox's? (DESIGN.md point 9)
 * Only the connection, Storage as a whole, secrets and coordination can fail a mailbox; anything
 * else that goes wrong while one message is processed (its content, Storage refusing an entity
 * built from it, a bug) is that message's, and ends in its quarantine.
 */
import { AppError, type ErrorCode } from "../../errors.js";

const MAILBOX_LEVEL = new Set<ErrorCode>([
  "STORAGE_UNAVAILABLE", "SECRET_STORE_UNAVAILABLE", "SECRET_NOT_FOUND", "SECRET_DECRYPTION_FAILED",
  "NETWORK_UNREACHABLE", "CONNECTION_TIMEOUT", "CONNECTION_LOST", "TLS_CERTIFICATE_UNTRUSTED", "TLS_HANDSHAKE_FAILED",
  "TLS_REQUIRED", "AUTH_FAILED", "AUTH_MECHANISM_UNSUPPORTED", "CREDENTIALS_MISSING", "SERVER_BUSY", "SERVER_ERROR",
  "PROTOCOL_ERROR", "PROTOCOL_LIMIT_EXCEEDED", "LEASE_HELD", "CONNECTION_LIMIT_REACHED", "CONFIGURATION_INVALID",
]);

export function isMailboxLevel(err: AppError): boolean {
  return MAILBOX_LEVEL.has(err.code);
}

/** The error a quarantined message carries: one of the four message codes, saying why. */
export function messageError(err: AppError): AppError {
  switch (err.code) {
    case "MESSAGE_UNPARSABLE":
    case "MESSAGE_TOO_LARGE":
    case "MESSAGE_LIMIT_EXCEEDED":
    case "PROCESSING_FAILED":
      return err;
    case "STORAGE_REFUSED":
    case "PAYLOAD_TOO_LARGE":
      return new AppError("MESSAGE_LIMIT_EXCEEDED",
        `Storage refused the activity built from this message (${err.message}); Storage takes keys up to 1 KiB, properties up to 64 KiB and entities up to 1 MiB.`,
        { cause: err });
    default:
      return new AppError("PROCESSING_FAILED", `Processing the message failed (${err.code}: ${err.message}).`, { cause: err });
  }
}
