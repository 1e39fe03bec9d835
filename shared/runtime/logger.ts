/**
 * @module Structured logging: one JSON object per line. Fields whose names suggest a secret are
 * replaced before anything is written, so a password can only reach a log by being renamed.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_NAME = /pass(word)?|secret|token|authorization|apikey|api_key|masterkey|credential|^code$|^key$/i;

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== "object") return value;
  if (value instanceof Error) return { name: value.name, code: (value as { code?: unknown }).code, message: value.message };
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, SECRET_NAME.test(k) ? "[redacted]" : redact(v, depth + 1)]),
  );
}

export type LogSink = (line: string, level: LogLevel) => void;

const defaultSink: LogSink = (line, level) => {
  if (level === "error" || level === "warn") process.stderr.write(line + "\n");
  else process.stdout.write(line + "\n");
};

export function createLogger(opts: { level?: LogLevel | "silent"; sink?: LogSink; fields?: LogFields } = {}): Logger {
  const min = opts.level === "silent" ? Infinity : ORDER[opts.level ?? "info"];
  const sink = opts.sink ?? defaultSink;
  const base = opts.fields ?? {};
  const write = (level: LogLevel, msg: string, fields?: LogFields): void => {
    if (ORDER[level] < min) return;
    sink(JSON.stringify({ at: new Date().toISOString(), level, msg, ...(redact({ ...base, ...fields }) as LogFields) }), level);
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    child: (fields) => createLogger({ ...opts, fields: { ...base, ...fields } }),
  };
}
