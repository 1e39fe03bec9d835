/**
 * The scheduler's chunk messages (decision 0033, shared/sync/dueMessage.ts): how a worker runs
 * them, sends back what it cannot run, splits one delivered again, drops malformed ones, and
 * corrects a polling interval the due index holds wrongly.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { InvocationContext } from "@azure/functions";
import { drainIncomingMessages } from "./schedulerDrain.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { enabledMailbox } from "../support/mailboxes.js";
import { Pop3TestServer } from "../support/pop3-server.js";
import { ManualClock } from "../../shared/runtime/clock.js";
import type { Logger, LogFields } from "../../shared/runtime/logger.js";
import { runSchedulerTick } from "../../shared/sync/scheduler.js";
import { MAX_DUE_PER_MESSAGE, runMailboxMessage, type DueItem } from "../../shared/sync/dueMessage.js";
import { mailboxIncomingFunction } from "../../functions/mailboxIncoming.js";
import { definitions } from "../../functions/definitions.js";

const clock = new ManualClock("2026-11-22T10:00:00.000Z");
const warnings: { msg: string; fields?: LogFields }[] = [];
const log: Logger = {
  debug: () => {}, info: () => {}, error: () => {},
  warn: (msg, fields) => { warnings.push({ msg, ...(fields ? { fields } : {}) }); },
  child: () => log,
};
let app: TestApp;
before(async () => {
  // HTTP only: no queue trigger consumes what is enqueued, so the test can read it.
  app = await startTestApp({ overrides: { clock, log }, definitions: definitions.filter((d) => d.kind === "http") });
});
after(async () => { await app?.stop(); });

const items = (n: number): DueItem[] => Array.from({ length: n }, () => ({ mailboxId: randomUUID(), every: 5 }));
const ids = (xs: DueItem[]): string[] => xs.map((x) => x.mailboxId);

test("a chunk's mailboxes run one after another, in order, each once", async () => {
  const due = items(5);
  let running = 0;
  let most = 0;
  const order: string[] = [];
  const run = await runMailboxMessage(app.services, "incoming", { due }, 1, async ({ mailboxId }) => {
    most = Math.max(most, ++running);
    await new Promise((r) => setTimeout(r, 5));
    order.push(mailboxId);
    running--;
    return "ran";
  });
  assert.deepEqual(order, ids(due));
  assert.equal(most, 1, "one at a time, as one message of the host would run");
  assert.deepEqual(run, { results: due.map(({ mailboxId }) => ({ mailboxId, result: "ran" })), resent: 0 });
  assert.deepEqual(await drainIncomingMessages(app), []);
});

test("out of time, the rest of a chunk goes back as one message; a mailbox that throws goes back alone", async () => {
  const due = items(4);
  const late = await runMailboxMessage(app.services, "incoming", { due }, 1, () => Promise.resolve("ran"), 0);
  assert.deepEqual(late.results.map((r) => r.mailboxId), [due[0]!.mailboxId], "the first always runs");
  assert.equal(late.resent, 3);
  assert.deepEqual(await drainIncomingMessages(app), [due.slice(1)]);

  const failing = due[2]!.mailboxId;
  const run = await runMailboxMessage(app.services, "incoming", { due }, 1, ({ mailboxId }) => (mailboxId === failing ? Promise.reject(new Error("storage went away")) : Promise.resolve("ran")));
  assert.deepEqual(run.results.map((r) => r.mailboxId), ids(due).filter((id) => id !== failing));
  assert.equal(run.resent, 1);
  assert.deepEqual(await drainIncomingMessages(app), [[due[2]]], "alone, with its interval");
  assert.ok(warnings.some((w) => w.msg.includes("sent back alone") && w.fields?.mailboxId === failing));
});

test("a chunk delivered again is split into one message per mailbox and not run; a single mailbox's failure fails its message", async () => {
  const due = items(3);
  let ran = 0;
  const split = await runMailboxMessage(app.services, "incoming", { due }, 2, () => { ran++; return Promise.resolve("ran"); });
  assert.equal(ran, 0);
  assert.deepEqual(split, { results: [], resent: 3 });
  const back = await drainIncomingMessages(app);
  assert.deepEqual(back.map((m) => m.length), [1, 1, 1]);
  assert.deepEqual(back.flat().map((i) => i.mailboxId).sort(), ids(due).sort());
  // Alone, a throw is the message's: the queue retries it and, in the end, poisons it alone.
  await assert.rejects(runMailboxMessage(app.services, "incoming", { due: due.slice(0, 1) }, 3, () => Promise.reject(new Error("boom"))), /boom/);
  await assert.rejects(runMailboxMessage(app.services, "incoming", { mailboxId: "x" }, 1, () => Promise.reject(new Error("boom"))), /boom/);
  assert.deepEqual(await drainIncomingMessages(app), []);
});

const context = (dequeueCount = 1): InvocationContext => ({ invocationId: randomUUID(), triggerMetadata: { dequeueCount } }) as unknown as InvocationContext;

test("malformed messages are dropped with a warning, not retried; a well-formed one is run", async () => {
  const malformed: unknown[] = [
    { due: [] },
    { due: items(MAX_DUE_PER_MESSAGE + 1) },
    { due: [{ mailboxId: "a", every: -1 }] },
    { due: [{ mailboxId: "" }] },
    { mailboxIds: ["a", "b"] },
    "not json",
  ];
  for (const message of malformed) {
    warnings.length = 0;
    await mailboxIncomingFunction.handler(message, context());
    assert.ok(warnings.some((w) => w.msg === "mailboxIncoming: malformed message dropped"), JSON.stringify(message).slice(0, 80));
  }
  // Mailboxes that do not exist: each run leaves the index, nothing throws.
  const gone = items(MAX_DUE_PER_MESSAGE);
  for (const { mailboxId } of gone.slice(0, 2)) await app.services.due.schedule("incoming", mailboxId, clock.now());
  warnings.length = 0;
  await mailboxIncomingFunction.handler({ due: gone }, context());
  assert.ok(!warnings.some((w) => w.msg.includes("malformed")));
  for (const { mailboxId } of gone.slice(0, 2)) assert.equal(await app.services.due.nextDue("incoming", mailboxId), undefined, "a deleted mailbox leaves the index");
});

test("a worker told another interval than its profile's corrects the index, so the next claim uses the profile's", async () => {
  const server = await Pop3TestServer.start({ messages: [] });
  try {
    const { mailboxId } = await enabledMailbox(app, { port: server.port, address: "every15@contoso.test", profile: { minPollingIntervalMinutes: 15 } });
    await app.services.due.remove("incoming", mailboxId);
    await app.services.due.schedule("incoming", mailboxId, clock.now());
    await drainIncomingMessages(app);
    const t0 = clock.now().getTime();
    await runSchedulerTick(app.services);
    const sent = (await drainIncomingMessages(app)).flat().filter((i) => i.mailboxId === mailboxId);
    assert.deepEqual(sent, [{ mailboxId, every: 5 }], "the index did not know the interval yet");
    await mailboxIncomingFunction.handler({ due: sent }, context());
    const m = (await app.services.repos.mailboxes.get(mailboxId))!.doc;
    assert.equal(m.incoming.status, "success", "polled");
    assert.equal((await app.services.due.nextDue("incoming", mailboxId))?.getTime(), t0 + 15 * 60_000, "moved to the profile's interval");
    clock.advance(15 * 60_000);
    await runSchedulerTick(app.services);
    assert.deepEqual((await drainIncomingMessages(app)).flat().filter((i) => i.mailboxId === mailboxId), [{ mailboxId, every: 15 }]);
    assert.equal((await app.services.due.nextDue("incoming", mailboxId))?.getTime(), t0 + 30 * 60_000);
  } finally {
    await server.close();
  }
});
