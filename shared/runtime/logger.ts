/**
 * @module Structured logging: one JSON object per record. Fields whose names suggest a secret are
 * replaced before anything is written, so a password can only reach a log by being renamed.
 * Records go to stdout/stderr as JSON lines, unless a process-wide sink is installed
 * (setLogSink): in Azure, shared/telemetry/azureMonitor.ts installs one that sends them to
 * Application Insights as OpenTelemetry log records, because on Flex Consumption nothing collects
 * a worker's stdout (docs/decisions/0023-telemetry.md).
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

export function isLogLevel(value: unknown): value is LogLevel | "silent" {
  return value === "silent" || (typeof value === "string" && Object.hasOwn(ORDER, value));
}
const SECRET_NAME = /pass(word)?|secret|token|authorization|apikey|api_key|masterkey|credential|^code$|^key$/i;

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== "object") return value;
  if (value instanceof Error) return { name: value.name, code: (value as { code?: unknown }).code, message: value.message };
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, SECRET_NAME.test(k) ? "[redacted]" : redact(v, depth + 1)]),
  );
}

/** One redacted record: `at`, `level`, `msg` and the fields. */
export type LogRecord = { at: string; level: LogLevel; msg: string } & LogFields;

/** Receives each record as a JSON line and as the object it was serialized from. */
export type LogSink = (line: string, level: LogLevel, record: LogRecord) => void;

const stdioSink: LogSink = (line, level) => {
  if (level === "error" || level === "warn") process.stderr.write(line + "\n");
  else process.stdout.write(line + "\n");
};

let processSink: LogSink = stdioSink;

/** Where loggers without a sink of their own write; undefined restores stdout/stderr. */
export function setLogSink(sink: LogSink | undefined): void {
  processSink = sink ?? stdioSink;
}

export function createLogger(opts: { level?: LogLevel | "silent"; sink?: LogSink; fields?: LogFields } = {}): Logger {
  const min = opts.level === "silent" ? Infinity : ORDER[opts.level ?? "info"];
  const base = opts.fields ?? {};
  const write = (level: LogLevel, msg: string, fields?: LogFields): void => {
    if (ORDER[level] < min) return;
    const record: LogRecord = { at: new Date().toISOString(), level, msg, ...(redact({ ...base, ...fields }) as LogFields) };
    // The process sink is looked up per record: loggers made before telemetry started follow it.
    (opts.sink ?? processSink)(JSON.stringify(record), level, record);
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    child: (fields) => createLogger({ ...opts, fields: { ...base, ...fields } }),
  };
}
