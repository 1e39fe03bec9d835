/**
 * @module Structured logging and invocation plumbing shared by the HTTP, timer and queue runners:
 * one JSON object per log line, an InvocationContext whose `context.log` lands in the same log,
 * and an "Executing / Executed" pair per invocation with its duration, as the host writes them.
 */
import { randomUUID } from "node:crypto";
import { format } from "node:util";
import type { InvocationContextInit, LogLevel } from "@azure/functions";
import functions from "@azure/functions";

export type DevHostLogLevel = "trace" | "debug" | "info" | "warn" | "error";

export interface DevHostLogEntry {
  level: DevHostLogLevel;
  msg: string;
  [field: string]: unknown;
}

export type DevHostLog = (entry: DevHostLogEntry) => void;

/** The default sink: one JSON line on stdout (stderr for errors), with a timestamp. */
export const jsonLineLog: DevHostLog = (entry) => {
  const line = JSON.stringify({ time: new Date().toISOString(), ...entry });
  if (entry.level === "error") process.stderr.write(`${line}\n`);
  else process.stdout.write(`${line}\n`);
};

const LEVELS: Record<LogLevel, DevHostLogLevel> = {
  trace: "trace", debug: "debug", information: "info", warning: "warn", error: "error", critical: "error", none: "trace",
};

/** A context like the host's, whose log methods write to the dev host's log. */
export function createContext(
  functionName: string,
  log: DevHostLog,
  init: Omit<InvocationContextInit, "functionName" | "logHandler"> = {},
): InstanceType<typeof functions.InvocationContext> {
  const invocationId = init.invocationId ?? randomUUID();
  return new functions.InvocationContext({
    ...init,
    functionName,
    invocationId,
    logHandler: (level, ...args) => log({ level: LEVELS[level], msg: format(...args), function: functionName, invocationId }),
  });
}

/** What the log says about a failure: the error's name and code, never a stack full of payload. */
export function describeError(err: unknown): Record<string, unknown> {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { error: err.name, ...(typeof code === "string" ? { code } : {}), detail: err.message, stack: err.stack };
  }
  return { error: typeof err, detail: String(err) };
}

/**
 * Runs one invocation and logs its start and end; resolves to whether it succeeded and never
 * rejects, so a failing function can never take the process down.
 */
export async function runInvocation(
  functionName: string,
  reason: string,
  log: DevHostLog,
  invocationId: string,
  body: () => Promise<unknown>,
): Promise<{ ok: true } | { ok: false; error: unknown }> {
  const started = performance.now();
  log({ level: "info", msg: `Executing 'Functions.${functionName}' (Reason='${reason}', Id=${invocationId})`, function: functionName, invocationId });
  try {
    await body();
    const ms = Math.round(performance.now() - started);
    log({ level: "info", msg: `Executed 'Functions.${functionName}' (Succeeded, Id=${invocationId}, Duration=${ms}ms)`, function: functionName, invocationId, ms });
    return { ok: true };
  } catch (error) {
    const ms = Math.round(performance.now() - started);
    log({
      level: "error",
      msg: `Executed 'Functions.${functionName}' (Failed, Id=${invocationId}, Duration=${ms}ms)`,
      function: functionName, invocationId, ms, ...describeError(error),
    });
    return { ok: false, error };
  }
}

/** Waits for invocations still running, at most `timeoutMs`; says so when some are abandoned. */
export async function drain(running: Iterable<Promise<unknown>>, timeoutMs: number, log: DevHostLog, what: string): Promise<void> {
  const all = [...running];
  if (all.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(true), timeoutMs); });
  const finished = Promise.allSettled(all).then(() => false);
  if (await Promise.race([finished, timedOut])) {
    log({ level: "warn", msg: `stopped waiting for ${all.length} running ${what} invocation(s) after ${timeoutMs} ms` });
  }
  clearTimeout(timer);
}
