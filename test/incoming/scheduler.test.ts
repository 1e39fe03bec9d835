import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { drainIncoming, drainIncomingMessages } from "./schedulerDrain.js";
import { startTestApp, MASTER_KEY, type TestApp } from "../support/app.js";
import { enabledMailbox } from "../support/mailboxes.js";
import { ManualClock } from "../../shared/runtime/clock.js";
import { runSchedulerTick, NOT_APPROVED_RECHECK_MS } from "../../shared/sync/scheduler.js";
import { runMailboxMessage } from "../../shared/sync/dueMessage.js";
import { pollMailbox } from "../../shared/sync/incoming/pollMailbox.js";
import { definitions } from "../../functions/definitions.js";

const clock = new ManualClock("2026-11-22T10:00:00.000Z");
let app: TestApp;
before(async () => {
  // HTTP only: no queue trigger consumes what the scheduler enqueues, so the test can count it.
  app = await startTestApp({ overrides: { clock }, definitions: definitions.filter((d) => d.kind === "http") });
});
after(async () => { await app?.stop(); });

const drain = (): Promise<string[]> => drainIncoming(app);

/** Runs what the tick enqueued as the mailboxIncoming worker would; returns what each poll said. */
async function work(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const due of await drainIncomingMessages(app)) {
    const run = await runMailboxMessage(app.services, "incoming", { due }, 1, ({ mailboxId, every }) => pollMailbox(app.services, mailboxId, every === undefined ? {} : { every }));
    for (const r of run.results) out[r.mailboxId] = r.result;
  }
  return out;
}

test("overlapping ticks enqueue each due mailbox once; the polling interval is honoured", async () => {
  const mailboxes = await Promise.all([1, 2, 3].map((i) => enabledMailbox(app, { port: 1, address: `sched${i}@contoso.test`, profile: { minPollingIntervalMinutes: 5, name: `Sched ${i}` } })));
  await drain();
  const [a, b] = await Promise.all([runSchedulerTick(app.services), runSchedulerTick(app.services)]);
  assert.equal(a.incoming + b.incoming, 3);
  assert.deepEqual((await drain()).sort(), mailboxes.map((m) => m.mailboxId).sort());
  clock.advance(60_000);
  assert.equal((await runSchedulerTick(app.services)).incoming, 0, "not due again before the interval");
  clock.advance(4 * 60_000);
  assert.equal((await runSchedulerTick(app.services)).incoming, 3);
  assert.equal((await drain()).length, 3);
});

test("an unapproved mailbox is not polled: its worker raises one alert and looks again in an hour; approval makes it due at once", async () => {
  await app.call("PATCH", "/api/settings", { body: { alerts: { warning: true } } });
  const { mailboxId } = await enabledMailbox(app, { port: 1, address: "unapproved@contoso.test" });
  await app.call("POST", `/api/mailboxes/${mailboxId}/reject`, { key: MASTER_KEY });
  await app.services.due.schedule("incoming", mailboxId, clock.now());
  await drain();
  clock.advance(60_000);
  await runSchedulerTick(app.services);
  assert.deepEqual((await work())[mailboxId], { status: "ineligible", reason: "notApproved" });
  assert.equal((await app.services.due.nextDue("incoming", mailboxId))?.getTime(), clock.now().getTime() + NOT_APPROVED_RECHECK_MS);
  for (let i = 0; i < 3; i++) {
    clock.advance(60_000);
    await runSchedulerTick(app.services);
  }
  assert.ok(!(await drain()).includes(mailboxId), "not enqueued again before the hour");
  const alerts = (await app.call("GET", `/api/alerts?mailboxId=${mailboxId}`)).body.items;
  assert.equal(alerts.length, 1);
  assert.equal(alerts[0].count, 1);
  assert.equal(alerts[0].code, "MAILBOX_NOT_APPROVED");
  const m = (await app.services.repos.mailboxes.get(mailboxId))!.doc;
  assert.equal(m.incoming.lastSyncAt, null, "never polled");
  await app.call("POST", `/api/mailboxes/${mailboxId}/approve`, { key: MASTER_KEY });
  await runSchedulerTick(app.services);
  assert.ok((await drain()).includes(mailboxId));
});

test("an unapproved mailbox is processed at once when the org stops requiring approval", async () => {
  const { mailboxId } = await enabledMailbox(app, { port: 1, address: "relaxed@contoso.test" });
  await app.call("POST", `/api/mailboxes/${mailboxId}/reject`, { key: MASTER_KEY });
  await app.services.due.schedule("incoming", mailboxId, clock.now());
  clock.advance(60_000);
  await runSchedulerTick(app.services);
  assert.deepEqual((await work())[mailboxId], { status: "ineligible", reason: "notApproved" });
  const relaxed = await app.call("PATCH", "/api/settings", { body: { processEmailOnlyForApprovedQueues: false }, key: MASTER_KEY });
  assert.equal(relaxed.status, 200);
  clock.advance(1000);
  await runSchedulerTick(app.services);
  assert.ok((await drain()).includes(mailboxId));
  await app.call("PATCH", "/api/settings", { body: { processEmailOnlyForApprovedQueues: true }, key: MASTER_KEY });
});

test("a postponed mailbox comes back when its postponement ends", async () => {
  const { mailboxId } = await enabledMailbox(app, { port: 1, address: "postponed@contoso.test" });
  const until = new Date(clock.now().getTime() + 5 * 60_000);
  await app.services.repos.mailboxes.update(mailboxId, (m) => ({ ...m, incoming: { ...m.incoming, postponedUntil: until.toISOString() } }));
  await app.services.due.schedule("incoming", mailboxId, until, true);
  await drain();
  clock.advance(60_000);
  await runSchedulerTick(app.services);
  assert.ok(!(await drain()).includes(mailboxId));
  clock.advance(5 * 60_000);
  await runSchedulerTick(app.services);
  assert.ok((await drain()).includes(mailboxId));
});
