/**
 * @module Reads the parts of host.json the dev host honours: the HTTP route prefix, the queue
 * trigger options and functionTimeout. Defaults and limits are the Functions host's own
 * (https://learn.microsoft.com/azure/azure-functions/functions-host-json, "queues"), so a host.json
 * that the real host accepts means the same thing here, and one it rejects fails here too.
 */
import { existsSync, readFileSync } from "node:fs";

export type MessageEncoding = "base64" | "none";

export interface QueueOptions {
  /** Messages fetched per poll; the host allows 1..32 (the Storage API's limit per Get Messages). */
  batchSize: number;
  /** A new batch is fetched once the messages still running drop to this number. */
  newBatchThreshold: number;
  /** Upper bound of the exponential back-off while the queue is empty. */
  maxPollingIntervalMs: number;
  /** How long a message that failed stays invisible before it is retried. */
  visibilityTimeoutMs: number;
  /** Attempts before a message goes to `<queue>-poison`. */
  maxDequeueCount: number;
  messageEncoding: MessageEncoding;
}

export interface HostJson {
  /** `api` unless host.json says otherwise; may be empty (routes at the root). */
  routePrefix: string;
  queues: QueueOptions;
  /** null when host.json sets none (the Consumption default is 5 minutes). */
  functionTimeoutMs: number | null;
}

const DEFAULT_BATCH_SIZE = 16;

/** .NET TimeSpan text as host.json uses it: `hh:mm:ss`, `hh:mm:ss.fff` or `d.hh:mm:ss`. */
export function parseTimeSpan(text: string, name = "value"): number {
  const m = /^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,7}))?$/.exec(text.trim());
  if (!m) throw new Error(`host.json: ${name} must be a TimeSpan like "00:00:30" (hh:mm:ss), got ${JSON.stringify(text)}`);
  const [, d, h, min, s, frac] = m;
  const hours = Number(h), minutes = Number(min), seconds = Number(s);
  if (hours > 23 || minutes > 59 || seconds > 59) {
    throw new Error(`host.json: ${name} ${JSON.stringify(text)} is out of range (hh <= 23, mm and ss <= 59)`);
  }
  const fracMs = frac === undefined ? 0 : Number(`0.${frac}`) * 1000;
  return Math.round((((Number(d ?? 0) * 24 + hours) * 60 + minutes) * 60 + seconds) * 1000 + fracMs);
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function intIn(raw: Record<string, unknown>, key: string, fallback: number, min: number, max: number): number {
  const v = raw[key];
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new Error(`host.json: extensions.queues.${key} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function timeSpanIn(raw: Record<string, unknown>, key: string, fallbackMs: number): number {
  const v = raw[key];
  if (v === undefined) return fallbackMs;
  if (typeof v !== "string") throw new Error(`host.json: extensions.queues.${key} must be a TimeSpan string like "00:00:30"`);
  return parseTimeSpan(v, `extensions.queues.${key}`);
}

/** Interprets host.json contents (already parsed JSON). */
export function parseHostJson(json: unknown): HostJson {
  const root = asRecord(json);
  const extensions = asRecord(root.extensions);
  const http = asRecord(extensions.http);
  const q = asRecord(extensions.queues);

  const prefixRaw = http.routePrefix ?? "api";
  if (typeof prefixRaw !== "string") throw new Error("host.json: extensions.http.routePrefix must be a string");
  const batchSize = intIn(q, "batchSize", DEFAULT_BATCH_SIZE, 1, 32);
  const encoding = q.messageEncoding ?? "base64";
  if (encoding !== "base64" && encoding !== "none") {
    throw new Error(`host.json: extensions.queues.messageEncoding must be "base64" or "none", got ${JSON.stringify(encoding)}`);
  }
  const timeout = root.functionTimeout;
  if (timeout !== undefined && typeof timeout !== "string") throw new Error("host.json: functionTimeout must be a TimeSpan string");

  return {
    routePrefix: prefixRaw.replace(/^\/+|\/+$/g, ""),
    queues: {
      batchSize,
      newBatchThreshold: intIn(q, "newBatchThreshold", Math.floor(batchSize / 2), 0, 1000),
      maxPollingIntervalMs: timeSpanIn(q, "maxPollingInterval", 60_000),
      visibilityTimeoutMs: timeSpanIn(q, "visibilityTimeout", 0),
      maxDequeueCount: intIn(q, "maxDequeueCount", 5, 1, 1000),
      messageEncoding: encoding,
    },
    functionTimeoutMs: timeout === undefined || timeout === "-1" ? null : parseTimeSpan(timeout, "functionTimeout"),
  };
}

/** Reads host.json from disk; a missing file means every default, as it does for the host. */
export function loadHostJson(path: string): HostJson {
  if (!existsSync(path)) return parseHostJson({});
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new Error(`host.json at ${path} is not valid JSON: ${(err as Error).message}`);
  }
  return parseHostJson(json);
}
