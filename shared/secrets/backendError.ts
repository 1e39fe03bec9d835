/**
 * @module Turns what the Azure SDKs throw (RestError, AbortError, credential errors) into
 * AppErrors for both secret stores. The SDK error is never kept as the cause: a RestError carries
 * the request, and the request of a `set` carries the value. Only its name, status, code and
 * message survive, copied onto a fresh Error, with the value scrubbed out of the message.
 */
import { AppError } from "../errors.js";

export interface BackendFailure {
  name: string;
  /** HTTP status, when a response arrived. */
  status: number | undefined;
  /** Service error code or Node system error code (ECONNREFUSED). */
  code: string | undefined;
  message: string;
}

export function describeFailure(err: unknown): BackendFailure {
  if (!(err instanceof Error)) return { name: "Error", status: undefined, code: undefined, message: String(err) };
  const { statusCode, code } = err as { statusCode?: unknown; code?: unknown };
  return {
    name: err.name,
    status: typeof statusCode === "number" ? statusCode : undefined,
    code: typeof code === "string" ? code : undefined,
    message: err.message,
  };
}

/**
 * No response (network, timeout, abort), 408, 429 and 5xx may succeed later. So may 401/403: a new
 * role assignment takes minutes to reach Key Vault, and an app-wide access problem must not
 * disable every mailbox at once. Key Vault's 409 means an operation on the name is still in
 * progress. Other 4xx (a value Key Vault refuses) will not succeed later.
 */
const TRANSIENT_STATUSES = new Set([401, 403, 408, 409, 429]);

export function isTransientFailure(f: BackendFailure): boolean {
  return f.status === undefined || f.status >= 500 || TRANSIENT_STATUSES.has(f.status);
}

/** A safe stand-in for the SDK error: same facts, no request, no response body. */
export function sanitizedCause(f: BackendFailure, secretValue?: string): Error {
  const scrub = (s: string): string => (secretValue ? s.split(secretValue).join("[redacted]") : s);
  const cause = new Error(scrub(f.message));
  cause.name = f.name;
  return Object.assign(cause, { statusCode: f.status, code: f.code });
}

/** "HTTP 503 ServiceUnavailable", "ECONNREFUSED", "AbortError": enough to tell outage from refusal. */
const summary = (f: BackendFailure): string =>
  f.status === undefined ? (f.code ?? f.name) : [`HTTP ${f.status}`, f.code].filter(Boolean).join(" ");

/** SECRET_STORE_UNAVAILABLE for a failed call, transient or not as isTransientFailure says. */
export function storeUnavailable(backend: string, operation: string, err: unknown, secretValue?: string): AppError {
  const f = describeFailure(err);
  const access = f.status === 401 || f.status === 403 ? "; check the app identity's access to it" : "";
  return new AppError("SECRET_STORE_UNAVAILABLE", `${backend}: ${operation} failed (${summary(f)})${access}.`, {
    transient: isTransientFailure(f),
    cause: sanitizedCause(f, secretValue),
  });
}
