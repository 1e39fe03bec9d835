import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { InvocationContext } from "@azure/functions";
import { QueueServiceClient } from "@azure/storage-queue";
import { startAzurite, type AzuriteInstance } from "../../shared/runtime/azurite.js";
import type { FunctionDefinition } from "../../shared/runtime/functionDefinitions.js";
import { startDevHost, type DevHost } from "../../devhost/host.js";
import type { DevHostLogEntry } from "../../devhost/invocation.js";
import { decodeQueueMessage, parseMessageText } from "../../devhost/queues.js";

const MASTER = "queue-test-master-key";
const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe("dev host: queue message decoding", () => {
  it("base64 as the host encodes it; invalid base64 is refused", () => {
    assert.equal(decodeQueueMessage(b64('{"a":1}'), "base64"), '{"a":1}');
    assert.equal(decodeQueueMessage(b64("grüße"), "base64"), "grüße");
    assert.equal(decodeQueueMessage("not base64!", "base64"), null);
    assert.equal(decodeQueueMessage("abc", "base64"), null);
    assert.equal(decodeQueueMessage("not base64!", "none"), "not base64!");
  });

  it("JSON objects and arrays become values; anything else stays a string", () => {
    assert.deepEqual(parseMessageText(' {"a":[1,2]} '), { a: [1, 2] });
    assert.deepEqual(parseMessageText("[1]"), [1]);
    assert.equal(parseMessageText("42"), "42");
    assert.equal(parseMessageText("{not json}"), "{not json}");
    assert.equal(parseMessageText("hello"), "hello");
  });
});

describe("dev host: queue triggers over Azurite", () => {
  let azurite: AzuriteInstance;
  let host: DevHost;
  let service: QueueServiceClient;
  const logs: DevHostLogEntry[] = [];
  const received: Array<{ message: unknown; context: InvocationContext }> = [];
  const failures: unknown[] = [];
  let running = 0, maxRunning = 0, concurrentDone = 0;

  before(async () => {
    azurite = await startAzurite();
    service = QueueServiceClient.fromConnectionString(azurite.connectionString);
    const definitions: FunctionDefinition[] = [
      { kind: "queue", name: "okQueue", queueName: "dh-ok", connection: "AzureWebJobsStorage", handler: (message, context) => { received.push({ message, context }); return Promise.resolve(); } },
      { kind: "queue", name: "failQueue", queueName: "dh-fail", connection: "AzureWebJobsStorage", handler: (message) => { failures.push(message); return Promise.reject(new Error("always fails")); } },
      {
        kind: "queue", name: "busyQueue", queueName: "dh-busy", connection: "AzureWebJobsStorage",
        handler: async () => {
          running++;
          maxRunning = Math.max(maxRunning, running);
          await sleep(80);
          running--;
          concurrentDone++;
        },
      },
    ];
    host = await startDevHost({
      definitions,
      settings: { API_MASTER_KEY: MASTER },
      port: 0,
      storageConnectionString: azurite.connectionString,
      hostJson: {
        extensions: {
          queues: {
            batchSize: 4, newBatchThreshold: 2, maxPollingInterval: "00:00:00.200",
            visibilityTimeout: "00:00:00", maxDequeueCount: 2, messageEncoding: "base64",
          },
        },
      },
      log: (e) => logs.push(e),
    });
  });
  after(async () => {
    await host?.stop();
    await azurite?.stop();
  });

  const count = async (queue: string): Promise<number> =>
    (await service.getQueueClient(queue).getProperties()).approximateMessagesCount ?? -1;

  it("creates each queue and its -poison queue", async () => {
    for (const q of ["dh-ok", "dh-ok-poison", "dh-fail", "dh-fail-poison", "dh-busy", "dh-busy-poison"]) {
      assert.equal(await service.getQueueClient(q).exists(), true, q);
    }
  });

  it("decodes a base64 JSON message, hands it over parsed, and deletes it", async () => {
    await service.getQueueClient("dh-ok").sendMessage(b64('{"mailboxId":"m-1","n":2}'));
    await service.getQueueClient("dh-ok").sendMessage(b64("plain text"));
    await waitFor("two messages", () => received.length >= 2);
    const messages = received.map((r) => r.message);
    assert.deepEqual(messages.find((m) => typeof m === "object"), { mailboxId: "m-1", n: 2 });
    assert.ok(messages.includes("plain text"));
    const ctx = received[0]?.context;
    assert.equal(ctx?.functionName, "okQueue");
    assert.equal(ctx?.triggerMetadata?.dequeueCount, 1);
    await waitFor("deletion", async () => (await count("dh-ok")) === 0);
    assert.equal(await count("dh-ok-poison"), 0);
  });

  it("retries a failing message, then moves its original text to <queue>-poison", async () => {
    const original = b64('{"will":"fail"}');
    await service.getQueueClient("dh-fail").sendMessage(original);
    const poison = service.getQueueClient("dh-fail-poison");
    await waitFor("poison message", async () => (await poison.peekMessages()).peekedMessageItems.length === 1);
    assert.equal((await poison.peekMessages()).peekedMessageItems[0]?.messageText, original);
    assert.equal(failures.length, 2, "maxDequeueCount is 2: two attempts, then poison");
    assert.deepEqual(failures[0], { will: "fail" });
    assert.equal(await count("dh-fail"), 0);
    assert.ok(logs.some((l) => l.function === "failQueue" && /MaxDequeueCount of 2/.test(l.msg)));
  });

  it("sends a message that is not base64 straight to poison without running the function", async () => {
    const before = received.length;
    await service.getQueueClient("dh-ok").sendMessage("{not base64}");
    const poison = service.getQueueClient("dh-ok-poison");
    await waitFor("poison message", async () => (await poison.peekMessages()).peekedMessageItems.length === 1);
    assert.equal((await poison.peekMessages()).peekedMessageItems[0]?.messageText, "{not base64}");
    assert.equal(received.length, before);
  });

  it("runs at most batchSize + newBatchThreshold messages at once, and all of them", async () => {
    const q = service.getQueueClient("dh-busy");
    await Promise.all(Array.from({ length: 20 }, (_, i) => q.sendMessage(b64(`m${i}`))));
    await waitFor("20 messages", () => concurrentDone >= 20);
    assert.ok(maxRunning <= 6, `ran ${maxRunning} at once; the limit is 4 + 2`);
    assert.ok(maxRunning >= 2, `ran ${maxRunning} at once; messages should run in parallel`);
    await waitFor("deletion", async () => (await count("dh-busy")) === 0);
  });

  it("the admin API runs a queue function with the input as its message", async () => {
    const start = received.length;
    const post = (input: string): Promise<Response> => fetch(`${host.url}/admin/functions/okQueue`, {
      method: "POST", headers: { "x-functions-key": MASTER }, body: JSON.stringify({ input }),
    });
    assert.equal((await post('{"mailboxId":"m-9"}')).status, 202);
    assert.equal((await post("just text")).status, 202);
    await waitFor("admin invocations", () => received.length >= start + 2);
    const got = received.slice(start).map((r) => r.message);
    assert.deepEqual(got.find((m) => typeof m === "object"), { mailboxId: "m-9" });
    assert.ok(got.includes("just text"));
  });

  it("stops cleanly: polling ends and stop() resolves quickly", async () => {
    const t0 = Date.now();
    await host.stop();
    assert.ok(Date.now() - t0 < 2000, `stop took ${Date.now() - t0} ms`);
    const before = received.length;
    await service.getQueueClient("dh-ok").sendMessage(b64("after stop"));
    await sleep(400);
    assert.equal(received.length, before);
    assert.equal(await count("dh-ok"), 1);
  });
});
