/**
 * @module The closed set of error codes and the one error class the whole app throws.
 * Every failure that crosses a module boundary is an AppError with a stable `code`; whether it is
 * transient (retry later) or permanent (disable, tell the admin) is decided here, once, per code.
 * Nothing anywhere branches on `err.message`.
 */

interface CodeInfo {
  /** HTTP status when this error ends an API request. */
  status: number;
  /** Retrying later may succeed (network, server busy); permanent errors need an admin. */
  transient: boolean;
}

export const ERROR_CODES = {
  // API request errors
  VALIDATION_FAILED: { status: 400, transient: false },
  MALFORMED_JSON: { status: 400, transient: false },
  UNAUTHORIZED: { status: 401, transient: false },
  FORBIDDEN: { status: 403, transient: false },
  NOT_FOUND: { status: 404, transient: false },
  METHOD_NOT_ALLOWED: { status: 405, transient: false },
  CONFLICT: { status: 409, transient: false },
  PRECONDITION_FAILED: { status: 412, transient: false },
  /** A change would send a stored secret to another target without re-entering it (docs/decisions/0014). */
  SECRET_REENTRY_REQUIRED: { status: 400, transient: false },
  PAYLOAD_TOO_LARGE: { status: 413, transient: false },
  /** An Idempotency-Key sent again with a different request (draft-ietf-httpapi-idempotency-key-header). */
  IDEMPOTENCY_KEY_REUSED: { status: 422, transient: false },
  INTERNAL: { status: 500, transient: true },
  SERVICE_UNAVAILABLE: { status: 503, transient: true },
  CONFIGURATION_INVALID: { status: 500, transient: false },

  // Storage and secrets
  STORAGE_UNAVAILABLE: { status: 503, transient: true },
  /** Storage refused one entity or blob (a key, property or entity over its limits): that request's fault, not Storage's. */
  STORAGE_REFUSED: { status: 500, transient: false },
  SECRET_STORE_UNAVAILABLE: { status: 503, transient: true },
  SECRET_NOT_FOUND: { status: 500, transient: false },
  SECRET_DECRYPTION_FAILED: { status: 500, transient: false },

  // Connections (POP3 and SMTP alike)
  NETWORK_UNREACHABLE: { status: 502, transient: true },
  CONNECTION_TIMEOUT: { status: 504, transient: true },
  CONNECTION_LOST: { status: 502, transient: true },
  TLS_CERTIFICATE_UNTRUSTED: { status: 502, transient: false },
  TLS_HANDSHAKE_FAILED: { status: 502, transient: false },
  TLS_REQUIRED: { status: 502, transient: false },
  AUTH_FAILED: { status: 502, transient: false },
  AUTH_MECHANISM_UNSUPPORTED: { status: 502, transient: false },
  /** The profile logs in on behalf of mailboxes (delegation) in a way the server or this mailbox's login cannot take (docs/delegation.md). */
  DELEGATION_UNSUPPORTED: { status: 502, transient: false },
  CREDENTIALS_MISSING: { status: 400, transient: false },
  SERVER_BUSY: { status: 503, transient: true },
  SERVER_ERROR: { status: 502, transient: false },
  PROTOCOL_ERROR: { status: 502, transient: true },
  PROTOCOL_LIMIT_EXCEEDED: { status: 502, transient: true },

  // SMTP replies
  SMTP_TRANSIENT_FAILURE: { status: 502, transient: true },
  SMTP_PERMANENT_FAILURE: { status: 502, transient: false },
  SMTP_RECIPIENT_REJECTED: { status: 502, transient: false },
  /** The end of data went out and no answer came back: maybe delivered, so never resent. */
  SEND_OUTCOME_UNKNOWN: { status: 502, transient: false },

  // Messages (one bad message never blocks a mailbox)
  MESSAGE_UNPARSABLE: { status: 422, transient: false },
  MESSAGE_TOO_LARGE: { status: 422, transient: false },
  /** A part of the message is beyond a named limit (shared/limits.ts) that cannot be met by cutting it short. */
  MESSAGE_LIMIT_EXCEEDED: { status: 422, transient: false },
  /** Anything else that went wrong with one message (a bug included): the message is quarantined. */
  PROCESSING_FAILED: { status: 422, transient: false },
  ATTACHMENT_TOO_LARGE: { status: 400, transient: false },
  FORWARD_NO_MATCH: { status: 422, transient: false },

  // Coordination across instances
  LEASE_HELD: { status: 409, transient: true },
  CONNECTION_LIMIT_REACHED: { status: 429, transient: true },
  MAILBOX_NOT_ELIGIBLE: { status: 409, transient: false },
  MAILBOX_NOT_APPROVED: { status: 409, transient: false },
} as const satisfies Record<string, CodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorDetail {
  path: string;
  message: string;
}

export interface AppErrorOptions {
  details?: ErrorDetail[];
  cause?: unknown;
  /** Overrides the code's default classification (e.g. an SMTP 4xx on an otherwise permanent step). */
  transient?: boolean;
  /** The protocol command that failed, never with its arguments when they hold a secret. */
  command?: string;
  /** The server's reply line, as received. */
  response?: string;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly transient: boolean;
  readonly status: number;
  readonly details: ErrorDetail[];
  readonly command: string | undefined;
  readonly response: string | undefined;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AppError";
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.transient = options.transient ?? ERROR_CODES[code].transient;
    this.details = options.details ?? [];
    this.command = options.command;
    this.response = options.response;
  }

  /** The shape stored on mailboxes and emails (`lastError`, `error`). */
  toSummary(): { code: ErrorCode; message: string; transient: boolean } {
    return { code: this.code, message: this.message, transient: this.transient };
  }
}

export function isAppError(value: unknown): value is AppError {
  return value instanceof AppError;
}

/** Anything thrown becomes an AppError; unknown failures are INTERNAL and keep their cause. */
export function toAppError(value: unknown): AppError {
  if (value instanceof AppError) return value;
  return new AppError("INTERNAL", "An unexpected error occurred.", { cause: value });
}

export const notFound = (what: string): AppError => new AppError("NOT_FOUND", `${what} was not found.`);
export const conflict = (message: string): AppError => new AppError("CONFLICT", message);
export const preconditionFailed = (): AppError =>
  new AppError("PRECONDITION_FAILED", "The resource was changed by someone else (If-Match does not match); read it again and retry.");
export const validationFailed = (details: ErrorDetail[]): AppError =>
  new AppError("VALIDATION_FAILED", "The request is not valid; see details.", { details });
