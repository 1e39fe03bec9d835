/**
 * @module `POST /admin/functions/{name}` with `{"input": "..."}`: runs a timer or queue function on
 * demand, as the Functions host's admin API does. Unlike the app's own routes, this one is guarded
 * by the host, and only the master key (`API_MASTER_KEY`) opens it.
 */
import { createHash, timingSafeEqual } from "node:crypto";

export interface AdminInvoker {
  /** Starts the named timer or queue function in the background; false when there is none. */
  invoke(functionName: string, input: unknown): boolean;
}

export interface AdminResult {
  status: number;
  code?: "UNAUTHORIZED" | "MALFORMED_JSON" | "NOT_FOUND";
  message?: string;
}

/**
 * Compares in constant time. Hashing first gives both sides the same length, so neither the
 * content nor the length of the key leaks through timing.
 */
export function keysEqual(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

export function handleAdminInvoke(
  functionName: string,
  key: string | undefined,
  body: Buffer,
  masterKey: string | undefined,
  invoker: AdminInvoker,
): AdminResult {
  if (key === undefined || masterKey === undefined || masterKey === "" || !keysEqual(key, masterKey)) {
    return { status: 401, code: "UNAUTHORIZED", message: "The master key is required (header x-functions-key or query code)." };
  }
  let input: unknown = "";
  if (body.length > 0) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString("utf8"));
    } catch {
      return { status: 400, code: "MALFORMED_JSON", message: 'The body must be JSON like {"input": "..."}.' };
    }
    if (typeof parsed === "object" && parsed !== null && "input" in parsed) input = parsed.input;
  }
  if (!invoker.invoke(functionName, input)) {
    return { status: 404, code: "NOT_FOUND", message: "No timer or queue function has that name." };
  }
  return { status: 202 };
}
