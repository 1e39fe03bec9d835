/**
 * @module Turning `unknown` input into typed values: JSON parsing (MALFORMED_JSON), read-only
 * fields dropped, and zod issues mapped to API.md's `details[]` (one entry per bad field; an
 * unknown field's path is the field itself).
 */
import { z } from "zod";
import { AppError, validationFailed, type ErrorDetail } from "../errors.js";

/** Fields the server owns. Clients often send a GET response back; these are ignored, not refused. */
export const READ_ONLY_FIELDS = new Set([
  "id", "etag", "createdAt", "updatedAt", "approval", "incomingStatus", "outgoingStatus",
  "enabledForIncoming", "enabledForOutgoing", "lastSyncAt", "lastSuccessfulSyncAt", "lastError",
  "transientFailureCount", "postponedUntil", "stats",
]);

export function parseJson(text: string): unknown {
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    // V8's message quotes the text around the error ("... "password":"hunter2" is not valid JSON"),
    // and a body can carry a secret: only the position is told back.
    const position = /at position (\d+)/.exec((err as Error).message)?.[1];
    throw new AppError("MALFORMED_JSON", `The body is not valid JSON${position === undefined ? "" : ` (at character ${position})`}.`);
  }
}

/** Drops read-only fields at the top level and `hasPassword` inside credential objects. */
export function stripReadOnly(body: unknown, extra: readonly string[] = []): unknown {
  if (body === null || typeof body !== "object" || Array.isArray(body)) return body;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) {
    if (READ_ONLY_FIELDS.has(k) || extra.includes(k)) continue;
    if ((k === "credentials" || k === "outgoingCredentials") && v && typeof v === "object" && !Array.isArray(v)) {
      out[k] = Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([ck]) => ck !== "hasPassword"));
    } else out[k] = v;
  }
  return out;
}

const pathOf = (path: PropertyKey[]): string => path.map(String).join(".");

export function issuesToDetails(issues: z.core.$ZodIssue[]): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) details.push({ path: pathOf([...issue.path, key]), message: "is not a known field" });
    } else {
      details.push({ path: pathOf(issue.path), message: issue.message });
    }
  }
  return details;
}

export function validate<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const result = schema.safeParse(value, {
    error: (iss) => (iss.code === "invalid_type" && iss.input === undefined ? "is required" : undefined),
  });
  if (result.success) return result.data;
  throw validationFailed(issuesToDetails(result.error.issues));
}
