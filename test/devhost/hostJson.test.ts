import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadHostJson, parseHostJson, parseTimeSpan } from "../../devhost/hostJson.js";

describe("dev host: host.json", () => {
  it("reads TimeSpans as host.json writes them", () => {
    assert.equal(parseTimeSpan("00:00:30"), 30_000);
    assert.equal(parseTimeSpan("00:10:00"), 600_000);
    assert.equal(parseTimeSpan("00:00:00.250"), 250);
    assert.equal(parseTimeSpan("1.02:00:00"), 26 * 3_600_000);
    assert.throws(() => parseTimeSpan("30s", "x"), /x must be a TimeSpan/);
    assert.throws(() => parseTimeSpan("00:60:00"), /out of range/);
  });

  it("uses the host's defaults for what is not set", () => {
    assert.deepEqual(parseHostJson({}), {
      routePrefix: "api",
      functionTimeoutMs: null,
      queues: { batchSize: 16, newBatchThreshold: 8, maxPollingIntervalMs: 60_000, visibilityTimeoutMs: 0, maxDequeueCount: 5, messageEncoding: "base64" },
    });
    assert.equal(parseHostJson({ extensions: { http: { routePrefix: "" } } }).routePrefix, "");
  });

  it("reads the project's host.json", () => {
    const h = loadHostJson(join(import.meta.dirname, "..", "..", "host.json"));
    assert.equal(h.routePrefix, "api");
    assert.equal(h.functionTimeoutMs, 600_000);
    assert.deepEqual(h.queues, { batchSize: 16, newBatchThreshold: 8, maxPollingIntervalMs: 2000, visibilityTimeoutMs: 30_000, maxDequeueCount: 5, messageEncoding: "base64" });
  });

  it("rejects values the host rejects", () => {
    assert.throws(() => parseHostJson({ extensions: { queues: { batchSize: 33 } } }), /batchSize must be an integer from 1 to 32/);
    assert.throws(() => parseHostJson({ extensions: { queues: { messageEncoding: "utf8" } } }), /messageEncoding/);
    assert.throws(() => parseHostJson({ extensions: { queues: { visibilityTimeout: 30 } } }), /TimeSpan/);
  });
});
