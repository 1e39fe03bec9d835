/**
 * Where telemetry goes: the console implementation (dev host, tests) aggregates like an export
 * interval and writes one log line per series; the OpenTelemetry one feeds the metrics API; log
 * records reach the OpenTelemetry logs API redacted, as attributes.
 *
 *   node scripts/run-tests.mjs test telemetry/sinks
 */
import { afterEach, test } from "node:test";
import assert from "node:assert/strict";
import { metrics, type Meter } from "@opentelemetry/api";
import { createLogger, setLogSink, type LogRecord } from "../../shared/runtime/logger.js";
import { createConsoleTelemetry } from "../../shared/telemetry/consoleTelemetry.js";
import { createOtelTelemetry } from "../../shared/telemetry/otelTelemetry.js";
import { aadClientId, startTelemetry, toAttributes } from "../../shared/telemetry/azureMonitor.js";
import { MAX_DIMENSION_LENGTH, METRICS, type Dimensions } from "../../shared/telemetry/metrics.js";
import { setTelemetry, telemetry } from "../../shared/telemetry/telemetry.js";

afterEach(() => {
  setLogSink(undefined);
  setTelemetry(undefined);
});

function capture(): { records: LogRecord[]; log: ReturnType<typeof createLogger> } {
  const records: LogRecord[] = [];
  return { records, log: createLogger({ level: "debug", sink: (_line, _level, record) => void records.push(record) }) };
}

test("console telemetry writes one line per series per interval: counters summed, durations as count/sum/max, gauges last", () => {
  const { records, log } = capture();
  const t = createConsoleTelemetry({ log, intervalMs: 3_600_000 });
  t.emit("emailsync.messages.received", 2, { "mailbox.id": "m1", "profile.id": "p1" });
  t.emit("emailsync.messages.received", 3, { "mailbox.id": "m1", "profile.id": "p1" });
  t.emit("emailsync.messages.received", 1, { "mailbox.id": "m2" });
  t.emit("emailsync.poll.duration", 40, { "mailbox.id": "m1", outcome: "done" });
  t.emit("emailsync.poll.duration", 100, { "mailbox.id": "m1", outcome: "done" });
  t.emit("emailsync.queue.depth", 7, { queue: "mailbox-incoming", "queue.poison": false });
  t.emit("emailsync.queue.depth", 4, { queue: "mailbox-incoming", "queue.poison": false });
  assert.equal(records.length, 0, "nothing is written before the interval ends");
  t.flush();
  const line = (metric: string, mailbox?: string): LogRecord | undefined => records.find((r) => r.metric === metric && (mailbox === undefined || r["mailbox.id"] === mailbox));
  assert.equal(line("emailsync.messages.received", "m1")?.sum, 5);
  assert.equal(line("emailsync.messages.received", "m1")?.["profile.id"], "p1");
  assert.equal(line("emailsync.messages.received", "m2")?.sum, 1);
  assert.deepEqual([line("emailsync.poll.duration")?.count, line("emailsync.poll.duration")?.sum, line("emailsync.poll.duration")?.max], [2, 140, 100]);
  assert.equal(line("emailsync.queue.depth")?.last, 4);
  assert.equal(records.length, 4);
  t.flush();
  assert.equal(records.length, 4, "a flushed series is not written again");
});

test("a metric keeps only the known dimensions, each cut to MAX_DIMENSION_LENGTH", () => {
  const { records, log } = capture();
  const t = createConsoleTelemetry({ log, intervalMs: 3_600_000 });
  const dims = { "mailbox.id": "x".repeat(500), subject: "Quarterly numbers", password: "hunter2", body: "hello" } as unknown as Dimensions;
  t.emit("emailsync.messages.quarantined", 1, dims);
  t.flush();
  const [r] = records;
  assert.equal(String(r?.["mailbox.id"]).length, MAX_DIMENSION_LENGTH);
  for (const dropped of ["subject", "password", "body"]) assert.equal(r?.[dropped], undefined, dropped);
});

test("without APPLICATIONINSIGHTS_CONNECTION_STRING telemetry stays on the console and logs stay on stdout", async () => {
  assert.equal(await startTelemetry({ APPLICATIONINSIGHTS_AUTHENTICATION_STRING: "Authorization=AAD;ClientId=x" }), "console");
  assert.equal(typeof (telemetry() as { flush?: unknown }).flush, "function", "the default telemetry is the console one");
});

test("the OpenTelemetry implementation creates one instrument per metric, of its kind, with cleaned attributes", () => {
  const calls: unknown[][] = [];
  const instrument = (kind: string, name: string) => ({
    add: (v: number, a: unknown) => void calls.push([kind, name, "add", v, a]),
    record: (v: number, a: unknown) => void calls.push([kind, name, "record", v, a]),
  });
  const created: string[] = [];
  const meter = {
    createCounter: (n: string) => (created.push(`counter ${n}`), instrument("counter", n)),
    createHistogram: (n: string) => (created.push(`histogram ${n}`), instrument("histogram", n)),
    createGauge: (n: string) => (created.push(`gauge ${n}`), instrument("gauge", n)),
  } as unknown as Meter;
  assert.ok(metrics.setGlobalMeterProvider({ getMeter: () => meter }));
  try {
    const t = createOtelTelemetry();
    t.emit("emailsync.messages.sent", 2, { "mailbox.id": "m1", secret: "no" } as unknown as Dimensions);
    t.emit("emailsync.messages.sent", 1, { "mailbox.id": "m1" });
    t.emit("emailsync.send.duration", 12, { outcome: "done" });
    t.emit("emailsync.queue.depth", 3, { queue: "mailbox-test-poison", "queue.poison": true });
    assert.deepEqual(created, ["counter emailsync.messages.sent", "histogram emailsync.send.duration", "gauge emailsync.queue.depth"]);
    assert.deepEqual(calls, [
      ["counter", "emailsync.messages.sent", "add", 2, { "mailbox.id": "m1" }],
      ["counter", "emailsync.messages.sent", "add", 1, { "mailbox.id": "m1" }],
      ["histogram", "emailsync.send.duration", "record", 12, { outcome: "done" }],
      ["gauge", "emailsync.queue.depth", "record", 3, { queue: "mailbox-test-poison", "queue.poison": true }],
    ]);
    for (const [name, def] of Object.entries(METRICS)) assert.ok(name.startsWith("emailsync.") && def.description, name);
  } finally {
    metrics.disable();
  }
});

test("log records go to the installed sink redacted, and become OpenTelemetry attributes (no secret, JSON for objects)", () => {
  const records: LogRecord[] = [];
  setLogSink((_line, _level, record) => void records.push(record));
  createLogger().warn("login refused", { mailboxId: "m1", password: "hunter2", err: new Error("535 auth failed"), nested: { token: "abc" } });
  const [r] = records;
  assert.ok(r);
  const attributes = toAttributes(r);
  assert.equal(attributes.logger, "email-sync");
  assert.equal(attributes.mailboxId, "m1");
  assert.equal(attributes.password, "[redacted]");
  assert.equal(typeof attributes.err, "string");
  assert.match(attributes.err as string, /535 auth failed/);
  assert.doesNotMatch(JSON.stringify(attributes), /hunter2|"abc"/);
  assert.equal(attributes.msg, undefined, "the message is the record's body, not an attribute");
});

test("telemetry is sent as the managed identity named by APPLICATIONINSIGHTS_AUTHENTICATION_STRING", () => {
  assert.equal(aadClientId("Authorization=AAD;ClientId=00000000-0000-0000-0000-000000000002"), "00000000-0000-0000-0000-000000000002");
  assert.equal(aadClientId("ClientId=abc; Authorization=aad"), "abc");
  assert.equal(aadClientId("Authorization=AAD"), undefined, "system-assigned identity is not used by this app");
  assert.equal(aadClientId(undefined), undefined);
  assert.equal(aadClientId("Authorization=Other;ClientId=abc"), undefined);
});
