/**
 * @module The console's only way to the API: same-origin fetches to /api/..., with the admin's key
 * (kept in sessionStorage only) in x-functions-key, or none behind Easy Auth (the platform adds
 * the principal). Errors become ApiFailure with the API's stable code, never raw text.
 */

export interface ErrorDetail { path: string; message: string }

export class ApiFailure extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly details: ErrorDetail[] = []) {
    super(message);
  }
}

const KEY_NAME = "email-sync-console-key";

export const keyStore = {
  get: (): string | null => sessionStorage.getItem(KEY_NAME),
  set: (key: string): void => sessionStorage.setItem(KEY_NAME, key),
  clear: (): void => sessionStorage.removeItem(KEY_NAME),
};

/** /api/ as seen from /api/console/: whatever the route prefix is. */
export const API_BASE = new URL("../", new URL(".", location.href)).pathname;

/** Called on a 401 anywhere: the key was revoked or the Easy Auth session ended. */
let onUnauthorized: () => void = () => undefined;
export function setUnauthorizedHandler(handler: () => void): void { onUnauthorized = handler; }

export interface CallOptions { body?: unknown; ifMatch?: string; signal?: AbortSignal }

async function send(method: string, path: string, opts: CallOptions): Promise<Response> {
  const headers: Record<string, string> = { accept: "application/json" };
  const key = keyStore.get();
  if (key) headers["x-functions-key"] = key;
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  if (opts.ifMatch) headers["if-match"] = opts.ifMatch;
  const res = await fetch(API_BASE + path, {
    method, headers, credentials: "same-origin", cache: "no-store",
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  if (!res.ok) {
    let code = `HTTP_${res.status}`;
    let message = res.statusText || "The request failed.";
    let details: ErrorDetail[] = [];
    try {
      const body = await res.json() as { error?: { code?: string; message?: string; details?: ErrorDetail[] } };
      code = body.error?.code ?? code;
      message = body.error?.message ?? message;
      details = body.error?.details ?? [];
    } catch {
      // Not the API's envelope (a proxy's page): the status says enough.
    }
    if (res.status === 401) onUnauthorized();
    throw new ApiFailure(res.status, code, message, details);
  }
  return res;
}

export async function api<T>(method: string, path: string, opts: CallOptions = {}): Promise<T> {
  const res = await send(method, path, opts);
  return (res.status === 204 ? undefined : await res.json()) as T;
}

export async function apiBytes(path: string): Promise<Blob> {
  return (await send("GET", path, {})).blob();
}

/** A query string from the set values only. */
export function query(params: Record<string, string | number | boolean | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}

export interface Page<T> { items: T[]; continuationToken: string | null }
