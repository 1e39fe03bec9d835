/**
 * Benchmark (issue 15, point 6): can the scheduler find and enqueue 100,000 due mailboxes within
 * one timer period? The real tick (runSchedulerTick, the body of the `mailboxScheduler` timer) runs
 * against Azurite behind the counting proxy (bench/support/countingProxy.ts, optional added latency)
 * over a generated store: N approved, enabled mailboxes of one profile, each in the due index and
 * due within the last five minutes. Ticks are fired back to back, as the timer would fire them once
 * per period, until every mailbox is enqueued; the bench reports how many ticks that took, the time,
 * requests and CPU of each, and checks that each mailbox was enqueued exactly once (the queue's
 * messages, each a claimed chunk of up to 33 mailboxes since decision 0033, name each of the N
 * mailboxes once and no other, and the index holds no entry that is still due).
 *
 *   npm run bench:scheduler -- 100000        (due mailboxes; default 100000)
 *   npm run bench:scheduler -- 2000          (quick check)
 * BENCH_AZURITE_PROFILE=<dir> writes a CPU profile of Azurite per tick (bench/support/benchAzurite.ts).
 * Environment: BENCH_LATENCY (ms added to each Storage request; default 0), BENCH_SETUP_CONCURRENCY
 * (default 4), BENCH_MAX_TICKS (stop after this many ticks; default 60), BENCH_DIRECT=1 (the ticks go to
 * Azurite without the proxy: no request counts, but the app CPU is the app's alone). Setup goes to Azurite directly, uncounted, in $batch requests of 100 rows written in
 * the store's own layout (a mailbox's document row, as DocumentTable writes it, without the unique
 * and lookup rows the tick never reads; the due index's entry and pointer rows in their shards, as
 * shared/coordination/dueIndex.ts writes them): one by one through the repositories it would take
 * hours at 100,000. The bench reads a mailbox and an index entry back through the app's own code
 * before it starts, so a layout change fails it instead of measuring nothing.
 * Prints Markdown rows for docs/benchmarks.md.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { spawnSync } from "node:child_process";
import { QueueServiceClient } from "@azure/storage-queue";
import { TableClient, type TransactionAction } from "@azure/data-tables";
import { connectionStringFor } from "../shared/runtime/azurite.js";
import { loadAppSettings } from "../shared/config/appSettings.js";
import { createServices, type Services } from "../shared/runtime/services.js";
import { createLogger } from "../shared/runtime/logger.js";
import { createProfile } from "../shared/admin/profiles.js";
import { EMPTY_STATS, NEW_DIRECTION, type Mailbox } from "../shared/domain/mailbox.js";
import { runSchedulerTick, TICK_BUDGET_MS } from "../shared/sync/scheduler.js";
import { DUE_SHARDS, duePartition, dueShardOf } from "../shared/coordination/dueIndex.js";
import { encodeKey } from "../shared/storage/documentTable.js";
import { mailboxIndexFields } from "../shared/storage/mailboxIndex.js";
import { QUEUES, TABLES } from "../shared/storage/names.js";
import { mailboxMessage } from "../shared/sync/dueMessage.js";
import { startBenchAzurite } from "./support/benchAzurite.js";
import { startCountingProxies, KINDS, type KindCounts } from "./support/countingProxy.js";
import { cpuMsOf } from "./support/procStats.js";

const N = Number(process.argv[2] ?? 100_000);
const LATENCY = Number(process.env.BENCH_LATENCY ?? 0);
const DIRECT = process.env.BENCH_DIRECT === "1";
const SETUP_CONCURRENCY = Number(process.env.BENCH_SETUP_CONCURRENCY ?? 4);
const MAX_TICKS = Number(process.env.BENCH_MAX_TICKS ?? 60);
// The label of the figures: the commit, "+changes" when shared/ differs from it (BENCH_COMMIT overrides; see bench/ingest.bench.ts).
const COMMIT = process.env.BENCH_COMMIT ??
  `${spawnSync("git", ["rev-parse", "--short", "HEAD"]).stdout?.toString().trim() || "?"}${spawnSync("git", ["status", "--porcelain", "--", "shared"]).stdout?.toString().trim() ? "+changes" : ""}`;

// Seconds between two firings of an NCRONTAB schedule of the simple forms the app uses:
// "0 */m * * * *" (every m minutes) and "*/s * * * * *" (every s seconds).
function periodSeconds(schedule: string): number {
  const [sec = "0", min = "*"] = schedule.trim().split(/\s+/);
  const every = (f: string): number | undefined => (/^\*\/(\d+)$/.exec(f) ? Number(/^\*\/(\d+)$/.exec(f)?.[1]) : f === "*" ? 1 : undefined);
  if (/^\d+$/.test(sec)) return 60 * (every(min) ?? 60);
  return every(sec) ?? 60;
}

/** Submits transactions, `SETUP_CONCURRENCY` at once, printing the rate of `rows` every 200 of them. */
async function submitAll(table: TableClient, batches: TransactionAction[][], label: string): Promise<number> {
  const t = performance.now();
  let next = 0, done = 0;
  await Promise.all(Array.from({ length: SETUP_CONCURRENCY }, async () => {
    while (next < batches.length) {
      await table.submitTransaction(batches[next++] ?? []);
      if (++done % 200 === 0) console.error(`  setup: ${done} of ${batches.length} ${label} batches at ${(done / ((performance.now() - t) / 1000)).toFixed(1)}/s`);
    }
  }));
  return (performance.now() - t) / 1000;
}

/** Rows in transactions of at most `per`, one partition each. */
function batchesOf(rows: { partitionKey: string; rowKey: string }[], per = 100): TransactionAction[][] {
  const byPartition = new Map<string, TransactionAction[]>();
  const out: TransactionAction[][] = [];
  for (const row of rows) {
    const b = byPartition.get(row.partitionKey) ?? [];
    b.push(["create", row]);
    if (b.length === per) { out.push(b); byPartition.delete(row.partitionKey); } else byPartition.set(row.partitionKey, b);
  }
  return [...out, ...byPartition.values()];
}

const quiet = { log: createLogger({ level: "silent" }) };
const settingsFor = (connectionString: string): ReturnType<typeof loadAppSettings> =>
  loadAppSettings({ AzureWebJobsStorage: connectionString, LOCAL_SECRETS_KEY: randomBytes(32).toString("base64") });

const { azurite, pid, profile: profileWindow } = await startBenchAzurite();
const proxies = await startCountingProxies(azurite, undefined, { latencyMs: LATENCY });
try {
  const direct: Services = await createServices(settingsFor(azurite.connectionString), quiet);
  const services: Services = DIRECT ? direct : await createServices(settingsFor(connectionStringFor(proxies.ports.blob, proxies.ports.queue, proxies.ports.table)), quiet);
  const period = periodSeconds(services.appSettings.SCHEDULER_SCHEDULE);
  const profile = await createProfile(direct, {
    name: "scheduler-bench", incoming: { host: "pop.bench.test", useSsl: true }, outgoing: { host: "smtp.bench.test", useSsl: true }, minPollingIntervalMinutes: 5,
  });
  const now = Date.now();
  const mailboxes: Mailbox[] = Array.from({ length: N }, (_, i) => ({
    id: randomUUID(), createdAt: "", updatedAt: "", owner: { type: "queue", id: `q${i}` }, emailAddress: `m${i}@bench.test`,
    profileId: profile.doc.id, incomingMethod: "serverSideSync", outgoingMethod: "none", credentials: null, active: true, isForwardMailbox: false,
    deleteEmailsAfterProcessing: false, processEmailReceivedAfter: null, incomingFilter: "all", approval: "approved",
    incoming: { ...NEW_DIRECTION, status: "success", enabled: true, lastSyncAt: new Date(now - 6 * 60_000).toISOString() },
    outgoing: { ...NEW_DIRECTION },
    stats: { ...EMPTY_STATS },
  }));
  // The layouts the app reads (bench header): checked below through the app's own code.
  const mailboxRow = (m: Mailbox) => ({
    partitionKey: "mailbox", rowKey: `e:${m.id}`, doc: JSON.stringify(m),
    ...Object.fromEntries(Object.entries(mailboxIndexFields(m)).filter(([, v]) => v !== null)),
  });
  const entryRows = (id: string, dueMs: number) => {
    const partitionKey = duePartition("incoming", dueShardOf(id));
    const entry = `t|${String(dueMs).padStart(13, "0")}|${encodeKey(id)}`;
    return [{ partitionKey, rowKey: entry }, { partitionKey, rowKey: `m|${encodeKey(id)}`, entryRowKey: entry }];
  };
  const mailboxSetupS = await submitAll(TableClient.fromConnectionString(azurite.connectionString, TABLES.mailboxes, { allowInsecureConnection: true }),
    batchesOf(mailboxes.map(mailboxRow)), "mailbox");
  // Due a minute ago or more, spread over the last five minutes of lastSyncAt as a live org would be.
  const indexSetupS = await submitAll(TableClient.fromConnectionString(azurite.connectionString, TABLES.coordination, { allowInsecureConnection: true }),
    batchesOf(mailboxes.flatMap((m) => entryRows(m.id, now - 60_000 - Math.floor(Math.random() * 240_000)))), "index");
  console.error(`setup: ${N} mailboxes in ${mailboxSetupS.toFixed(1)} s, their due entries in ${indexSetupS.toFixed(1)} s`);
  const probe = mailboxes[0];
  if (probe && ((await direct.repos.mailboxes.get(probe.id))?.doc.emailAddress !== probe.emailAddress || !(await direct.due.nextDue("incoming", probe.id)))) {
    throw new Error("the generated rows are not where the app reads them: follow the layout of DocumentTable / dueIndex.ts");
  }
  let t: number;

  // Finding alone: the one range query of a tick, without its per-tick limit.
  const k0 = { ...proxies.kinds };
  t = performance.now();
  const found = await services.due.due("incoming", new Date(), N + 1);
  const findMs = performance.now() - t;
  const findRequests = KINDS.reduce((n, k) => n + proxies.kinds[k] - k0[k], 0);
  if (found.length !== N) throw new Error(`the index finds ${found.length} due mailboxes, expected ${N}`);

  const ids = new Set(mailboxes.map((m) => m.id));
  const timings0 = structuredClone(proxies.timings);
  const ticks: { ms: number; enqueued: number; deferred: number; kinds: KindCounts; appCpuMs: number; azuriteCpuMs: number }[] = [];
  let enqueued = 0;
  while (enqueued < N && ticks.length < MAX_TICKS) {
    const before = { ...proxies.kinds };
    const cpu0 = process.cpuUsage(), az0 = cpuMsOf(pid);
    profileWindow(`tick-${ticks.length + 1}`);
    t = performance.now();
    const r = await runSchedulerTick(services);
    const ms = performance.now() - t;
    profileWindow();
    const cpu = process.cpuUsage(cpu0);
    const kinds = Object.fromEntries(KINDS.map((k) => [k, proxies.kinds[k] - before[k]])) as KindCounts;
    ticks.push({ ms, enqueued: r.incoming, deferred: r.deferred, kinds, appCpuMs: (cpu.user + cpu.system) / 1000, azuriteCpuMs: cpuMsOf(pid) - az0 });
    enqueued += r.incoming;
    console.error(`  tick ${ticks.length}: ${r.incoming} enqueued, ${r.deferred} left for the next, in ${(ms / 1000).toFixed(1)} s`);
    if (r.incoming === 0 && r.deferred === 0) break;
  }
  // Exactly once: every mailbox named once across the queue's messages (a message names a claimed
  // chunk, decision 0033), nothing still due in the index.
  const queue = QueueServiceClient.fromConnectionString(azurite.connectionString).getQueueClient(QUEUES.incoming);
  const named = new Map<string, number>();
  let messages = 0;
  for (;;) {
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 3600 });
    if (receivedMessageItems.length === 0) break;
    for (const m of receivedMessageItems) {
      messages++;
      const body = mailboxMessage.parse(JSON.parse(Buffer.from(m.messageText, "base64").toString("utf8")));
      for (const { mailboxId } of "due" in body ? body.due : [body]) named.set(mailboxId, (named.get(mailboxId) ?? 0) + 1);
    }
  }
  const twice = [...named.values()].filter((n) => n > 1).length;
  const strangers = [...named.keys()].filter((id) => !ids.has(id)).length;
  const stillDue = (await direct.due.due("incoming", new Date(), 10)).length;
  // Stopped early (BENCH_MAX_TICKS), the mailboxes enqueued so far must each be named once.
  const exactSoFar = twice === 0 && strangers === 0 && named.size === enqueued;
  const exact = exactSoFar && enqueued === N && stillDue === 0;

  const totalMs = ticks.reduce((n, x) => n + x.ms, 0);
  const total = (k: keyof KindCounts): number => ticks.reduce((n, x) => n + x.kinds[k], 0);
  const requests = KINDS.reduce((n, k) => n + total(k), 0);
  const perMailbox = (x: number): string => (x / Math.max(1, enqueued)).toFixed(2);
  const appCpuS = ticks.reduce((n, x) => n + x.appCpuMs, 0) / 1000;
  const azuriteCpuS = ticks.reduce((n, x) => n + x.azuriteCpuMs, 0) / 1000;
  console.log(`\nScheduler, ${N.toLocaleString("en-US")} due mailboxes, ${DIRECT ? "no proxy (request counts not taken)" : `${LATENCY} ms added per Storage request`}, ${COMMIT}, ${new Date().toISOString().slice(0, 10)}; ` +
    `timer period ${period} s (SCHEDULER_SCHEDULE ${services.appSettings.SCHEDULER_SCHEDULE}), ${DUE_SHARDS} shards, TICK_BUDGET_MS ${TICK_BUDGET_MS}\n`);
  console.log("| due mailboxes | Storage latency | commit | find: rows / requests / ms | ticks to enqueue all | time, all ticks | first tick | requests/mailbox | table GET | $batch | query | queue | other | app CPU s (ms/mailbox) | Azurite CPU s | within one period | exactly once |");
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  const other = requests - total("tableGet") - total("tableBatch") - total("tableQuery") - total("queue");
  const within = ticks.length === 1 && totalMs <= period * 1000 && enqueued === N;
  console.log(`| ${N.toLocaleString("en-US")} | ${DIRECT ? "no proxy" : `${LATENCY} ms`} | ${COMMIT} | ${found.length.toLocaleString("en-US")} / ${findRequests} / ${findMs.toFixed(0)} | ${ticks.length} | ` +
    `${(totalMs / 1000).toFixed(1)} s | ${(ticks[0]?.enqueued ?? 0).toLocaleString("en-US")} in ${((ticks[0]?.ms ?? 0) / 1000).toFixed(1)} s | ` +
    `${perMailbox(requests)} | ${perMailbox(total("tableGet"))} | ${perMailbox(total("tableBatch"))} | ${perMailbox(total("tableQuery"))} | ${perMailbox(total("queue"))} | ${perMailbox(other)} | ` +
    `${appCpuS.toFixed(1)} (${(appCpuS * 1000 / Math.max(1, enqueued)).toFixed(2)}) | ${azuriteCpuS.toFixed(1)} | ${within ? "yes" : "no"} | ${exact ? "yes" : exactSoFar && enqueued < N ? `yes, so far (${enqueued.toLocaleString("en-US")} of ${N.toLocaleString("en-US")})` : `NO (named ${named.size}, twice ${twice}, unknown ${strangers}, enqueued ${enqueued}, still due ${stillDue})`} |`);
  console.log(`\n${enqueued.toLocaleString("en-US")} mailboxes enqueued in ${messages.toLocaleString("en-US")} queue messages. Enqueue rate ${(enqueued / (totalMs / 1000)).toFixed(0)} mailboxes/s over all ticks; per tick: ${ticks.map((x) => `${x.enqueued} in ${(x.ms / 1000).toFixed(1)} s`).join(", ")}; ` +
    `setup ${mailboxSetupS.toFixed(0)} s + ${indexSetupS.toFixed(0)} s. ${DIRECT ? "App CPU is the app's alone (no proxy)." : "App CPU includes the counting proxy (same process)."}`);
  console.log(`Azurite's mean time per answer during the ticks: ${KINDS.filter((k) => proxies.timings[k].n > timings0[k].n)
    .map((k) => `${k} ${((proxies.timings[k].ms - timings0[k].ms) / (proxies.timings[k].n - timings0[k].n)).toFixed(1)} ms (${proxies.timings[k].n - timings0[k].n})`).join(", ")}.`);
  if (!exactSoFar) process.exitCode = 1;
} finally {
  await proxies.close();
  await azurite.stop();
}
