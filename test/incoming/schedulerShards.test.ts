/**
 * The sharded due index (decision 0028) under the scheduler: claims batched per shard without a
 * pointer read, racing ticks, a batch that loses one entry, the legacy single partition.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { TableClient, TransactionAction } from "@azure/data-tables";
import { drainIncoming, drainIncomingMessages } from "./schedulerDrain.js";
import { pollMailbox } from "../../shared/sync/incoming/pollMailbox.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { ManualClock } from "../../shared/runtime/clock.js";
import { runSchedulerTick, NOT_APPROVED_RECHECK_MS } from "../../shared/sync/scheduler.js";
import { DueIndex, DEFAULT_EVERY_MINUTES, DUE_SHARDS, dueShardOf, legacyDuePartition } from "../../shared/coordination/dueIndex.js";
import { createProfile } from "../../shared/admin/profiles.js";
import { EMPTY_STATS, NEW_DIRECTION, type Mailbox } from "../../shared/domain/mailbox.js";
import { definitions } from "../../functions/definitions.js";
import { TABLES } from "../../shared/storage/names.js";
import { encodeKey } from "../../shared/storage/documentTable.js";
import type { Services } from "../../shared/runtime/services.js";

const clock = new ManualClock("2026-11-22T10:00:00.000Z");
let app: TestApp;
let profileId: string;
before(async () => {
  // HTTP only: no queue trigger consumes what the scheduler enqueues, so the test can count it.
  app = await startTestApp({ overrides: { clock }, definitions: definitions.filter((d) => d.kind === "http") });
  const profile = await createProfile(app.services, {
    name: "shards", incoming: { host: "pop.shards.test", useSsl: true }, outgoing: { host: "smtp.shards.test", useSsl: true }, minPollingIntervalMinutes: 5,
  });
  profileId = profile.doc.id;
});
after(async () => { await app?.stop(); });

const table = (): TableClient => app.services.storage.table(TABLES.coordination);

/** `target` with its methods bound to it; `intercept` sees every property read and may answer another value. */
function watched<T extends object>(target: T, intercept: (prop: string | symbol, value: unknown) => unknown): T {
  return new Proxy(target, {
    get(t, prop, receiver) {
      const v: unknown = Reflect.get(t, prop, receiver);
      return intercept(prop, typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(t) : v);
    },
  });
}

/** Counts the transactions a DueIndex submits. */
function countingIndex(): { index: DueIndex; transactions: TransactionAction[][] } {
  const client = table();
  const transactions: TransactionAction[][] = [];
  const counted = watched(client, (prop, v) => prop !== "submitTransaction" ? v
    : (actions: TransactionAction[]) => { transactions.push(actions); return client.submitTransaction(actions); });
  return { index: new DueIndex(counted), transactions };
}

/** `n` mailbox ids whose rows all fall in one shard. */
function idsInShard(n: number, shard = dueShardOf(randomUUID())): string[] {
  const ids: string[] = [];
  while (ids.length < n) {
    const id = randomUUID();
    if (dueShardOf(id) === shard) ids.push(id);
  }
  return ids;
}

async function createMailboxes(ids: string[], change: (m: Mailbox) => Mailbox = (m) => m): Promise<void> {
  const now = clock.now().getTime();
  await Promise.all(ids.map((id) => app.services.repos.mailboxes.create(change({
    id, createdAt: "", updatedAt: "", owner: { type: "queue", id: `q-${id}` }, emailAddress: `${id}@shards.test`,
    profileId, incomingMethod: "serverSideSync", outgoingMethod: "none", credentials: null, active: true, isForwardMailbox: false,
    deleteEmailsAfterProcessing: false, processEmailReceivedAfter: null, incomingFilter: "all", approval: "approved",
    incoming: { ...NEW_DIRECTION, status: "success", enabled: true, lastSyncAt: new Date(now - 6 * 60_000).toISOString() },
    outgoing: { ...NEW_DIRECTION },
    stats: { ...EMPTY_STATS },
  }))));
}

const drain = (): Promise<string[]> => drainIncoming(app);

const sorted = (xs: string[]): string[] => [...xs].sort();

test("legacy single-partition entries are moved into their shards and enqueued once; one a shard already has is dropped", async () => {
  // First in the file: the app's index has not yet seen the legacy partition empty.
  const [old, both, future] = [randomUUID(), randomUUID(), randomUUID()];
  await createMailboxes([old, both, future]);
  const legacy = legacyDuePartition("incoming");
  const at = (ms: number, id: string): string => `t|${String(ms).padStart(13, "0")}|${encodeKey(id)}`;
  const t0 = clock.now().getTime();
  for (const [id, ms] of [[old, t0 - 60_000], [both, t0 - 60_000], [future, t0 + 30 * 60_000]] as const) {
    await table().submitTransaction([
      ["create", { partitionKey: legacy, rowKey: at(ms, id) }],
      ["create", { partitionKey: legacy, rowKey: `m|${encodeKey(id)}`, entryRowKey: at(ms, id) }],
    ]);
  }
  // `both` was scheduled by the new version too, later: its shard entry keeps its time.
  await app.services.due.schedule("incoming", both, new Date(t0 + 10 * 60_000), true);
  assert.equal((await app.services.due.nextDue("incoming", future))?.getTime(), t0 + 30 * 60_000, "nextDue finds a legacy entry");
  await drain();
  const [a, b] = await Promise.all([runSchedulerTick(app.services), runSchedulerTick(app.services)]);
  assert.equal(a.incoming + b.incoming, 1);
  assert.deepEqual(await drain(), [old]);
  assert.equal((await app.services.due.nextDue("incoming", old))?.getTime(), t0 + 5 * 60_000, "claimed in its shard");
  assert.equal((await app.services.due.nextDue("incoming", both))?.getTime(), t0 + 10 * 60_000, "the shard's own entry stayed");
  const left = [];
  for await (const e of table().listEntities({ queryOptions: { filter: `PartitionKey eq '${legacy}'` } })) left.push(e.rowKey);
  assert.deepEqual(sorted(left as string[]), sorted([at(t0 + 30 * 60_000, future), `m|${encodeKey(future)}`]), "only the entry not yet due stays behind");
  clock.advance(31 * 60_000);
  assert.equal((await runSchedulerTick(app.services)).incoming, 3, "the future one joins when due; the others are due again");
  assert.equal(sorted(await drain()).join(), sorted([old, both, future]).join());
  await Promise.all([old, both, future].map((id) => app.services.due.remove("incoming", id)));
});

test("33 claims of one shard are one transaction; 100 due mailboxes of one shard take 4", async () => {
  const ids = idsInShard(100);
  const { index, transactions } = countingIndex();
  for (const id of ids) await index.schedule("incoming", id, clock.now());
  const entries = await index.due("incoming", clock.now(), 1000);
  assert.equal(entries.length, 100);
  transactions.length = 0;
  const next = new Date(clock.now().getTime() + 60_000);
  const taken = await index.settle("incoming", entries.map((entry) => ({ entry, nextAt: next })));
  assert.ok(taken.every(Boolean));
  assert.deepEqual(transactions.map((t) => t.length), [99, 99, 99, 3]);
  assert.equal((await index.due("incoming", clock.now(), 1000)).length, 0);
  await Promise.all(ids.map((id) => index.remove("incoming", id)));
});

test("a batch claim with one entry already taken falls back to one by one and takes the others once", async () => {
  const ids = idsInShard(20);
  const { index, transactions } = countingIndex();
  for (const id of ids) await index.schedule("incoming", id, clock.now());
  const entries = (await index.due("incoming", clock.now(), 1000)).filter((e) => ids.includes(e.mailboxId));
  assert.equal(entries.length, 20);
  const later = new Date(clock.now().getTime() + 60_000);
  // Another tick took one of them after this one read the index.
  assert.equal(await new DueIndex(table()).claim("incoming", entries[7]!, later), true);
  transactions.length = 0;
  const taken = await index.settle("incoming", entries.map((entry) => ({ entry, nextAt: later })));
  assert.deepEqual(taken.map((t, i) => (i === 7 ? !t : t)), entries.map(() => true), "all but the taken one");
  assert.equal(transactions[0]?.length, 60, "one transaction first");
  assert.equal(transactions.filter((t) => t.length === 3).length, 19 + 1, "then one per entry (the taken one fails again)");
  assert.deepEqual(await index.settle("incoming", entries.map((entry) => ({ entry, nextAt: later }))), entries.map(() => false), "nothing is taken twice");
  for (const id of ids) assert.equal((await index.nextDue("incoming", id))?.getTime(), later.getTime(), "each has one entry, at its next time");
  await Promise.all(ids.map((id) => index.remove("incoming", id)));
});

test("two ticks racing over many sharded entries enqueue each mailbox once", async () => {
  // Three shards' worth in one (several transactions of 33) plus mailboxes spread over the others.
  const ids = [...idsInShard(80), ...Array.from({ length: 3 * DUE_SHARDS }, () => randomUUID())];
  await createMailboxes(ids);
  for (const id of ids) await app.services.due.schedule("incoming", id, clock.now());
  await drain();
  const [a, b, c] = await Promise.all([runSchedulerTick(app.services), runSchedulerTick(app.services), runSchedulerTick(app.services)]);
  assert.equal(a.incoming + b.incoming + c.incoming, ids.length);
  const sent = await drain();
  assert.equal(sent.length, ids.length);
  assert.deepEqual(sorted(sent), sorted(ids));
  assert.equal((await runSchedulerTick(app.services)).incoming, 0);
  await Promise.all(ids.map((id) => app.services.due.remove("incoming", id)));
});

test("in one transaction and one message, without reading a mailbox; their worker keeps the eligible one and settles the rest", async () => {
  const [ok, inactive, missing, unapproved] = idsInShard(4);
  await createMailboxes([ok!]);
  await createMailboxes([inactive!], (m) => ({ ...m, active: false }));
  await createMailboxes([unapproved!], (m) => ({ ...m, approval: "rejected" }));
  for (const id of [ok, inactive, missing, unapproved]) await app.services.due.schedule("incoming", id!, clock.now());
  await drain();
  const { index, transactions } = countingIndex();
  let mailboxReads = 0;
  const mailboxes = watched(app.services.repos.mailboxes, (prop, v) => {
    if (prop === "get") mailboxReads++;
    return v;
  });
  const services: Services = { ...app.services, due: index, repos: { ...app.services.repos, mailboxes } };
  assert.equal((await runSchedulerTick(services)).incoming, 4);
  assert.equal(mailboxReads, 0, "the tick reads no mailbox");
  const messages = await drainIncomingMessages(app);
  assert.equal(messages.length, 1, "one message for the chunk");
  assert.deepEqual(sorted(messages[0]!.map((i) => i.mailboxId)), sorted([ok!, inactive!, missing!, unapproved!]));
  assert.ok(messages[0]!.every((i) => i.every === DEFAULT_EVERY_MINUTES), "each carries the interval its claim used");
  assert.equal(transactions.filter((t) => t[0]?.[1].partitionKey === `due|incoming|${dueShardOf(ok!).toString(16).padStart(2, "0")}`).length, 1);
  // The worker's check (ok itself would connect to its server, which is not the point here).
  assert.deepEqual(await pollMailbox(app.services, inactive!), { status: "ineligible", reason: "inactive" });
  assert.deepEqual(await pollMailbox(app.services, missing!), { status: "ineligible", reason: "deleted" });
  assert.deepEqual(await pollMailbox(app.services, unapproved!), { status: "ineligible", reason: "notApproved" });
  assert.equal((await app.services.due.nextDue("incoming", ok!))?.getTime(), clock.now().getTime() + DEFAULT_EVERY_MINUTES * 60_000);
  assert.equal(await app.services.due.nextDue("incoming", inactive!), undefined);
  assert.equal(await app.services.due.nextDue("incoming", missing!), undefined);
  assert.equal((await app.services.due.nextDue("incoming", unapproved!))?.getTime(), clock.now().getTime() + NOT_APPROVED_RECHECK_MS);
  await Promise.all([ok, unapproved].map((id) => app.services.due.remove("incoming", id!)));
});

test("a tick out of time leaves what it did not settle due, and the next tick enqueues it once", async () => {
  const ids = Array.from({ length: 40 }, () => randomUUID());
  await createMailboxes(ids);
  for (const id of ids) await app.services.due.schedule("incoming", id, clock.now());
  await drain();
  const late = await runSchedulerTick(app.services, 0);
  assert.deepEqual([late.incoming, late.deferred], [0, ids.length], "no time: nothing settled, all of it reported");
  assert.deepEqual(await drain(), []);
  for (const id of ids) assert.equal((await app.services.due.nextDue("incoming", id))?.getTime(), clock.now().getTime(), "still due");
  const next = await runSchedulerTick(app.services);
  assert.deepEqual([next.incoming, next.deferred], [ids.length, 0]);
  assert.deepEqual(sorted(await drain()), sorted(ids));
  await Promise.all(ids.map((id) => app.services.due.remove("incoming", id)));
});

test("a claim moves an entry by the interval it carries; setEvery shifts a future entry by the difference, and schedule keeps it", async () => {
  const [id] = idsInShard(1);
  await createMailboxes([id!]);
  const t0 = clock.now().getTime();
  await app.services.due.schedule("incoming", id!, clock.now());
  await app.services.due.setEvery("incoming", id!, 15, clock.now());
  assert.equal((await app.services.due.nextDue("incoming", id!))?.getTime(), t0, "a due entry stays due");
  await drain();
  assert.equal((await runSchedulerTick(app.services)).incoming, 1);
  assert.deepEqual((await drainIncomingMessages(app)).flat(), [{ mailboxId: id, every: 15 }]);
  assert.equal((await app.services.due.nextDue("incoming", id!))?.getTime(), t0 + 15 * 60_000, "claimed 15 minutes on");
  await app.services.due.setEvery("incoming", id!, 10, clock.now());
  assert.equal((await app.services.due.nextDue("incoming", id!))?.getTime(), t0 + 10 * 60_000, "moved back by the difference");
  await app.services.due.setEvery("incoming", id!, 10, clock.now());
  await app.services.due.schedule("incoming", id!, new Date(t0 + 60_000));
  clock.advance(60_000);
  assert.equal((await runSchedulerTick(app.services)).incoming, 1);
  assert.deepEqual((await drainIncomingMessages(app)).flat(), [{ mailboxId: id, every: 10 }], "schedule kept the interval");
  assert.equal((await app.services.due.nextDue("incoming", id!))?.getTime(), t0 + 60_000 + 10 * 60_000);
  await app.services.due.remove("incoming", id!);
  await app.services.due.setEvery("incoming", id!, 20, clock.now());
  assert.equal(await app.services.due.nextDue("incoming", id!), undefined, "a mailbox out of the index stays out");
});
