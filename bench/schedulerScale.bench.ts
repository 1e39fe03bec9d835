/**
 * Benchmark (issue 15, point 6): can the scheduler find and enqueue 100,000 due mailboxes within
 * one timer period? The real tick (runSchedulerTick, the body of the `mailboxScheduler` timer) runs
 * against Azurite behind the counting proxy (bench/support/countingProxy.ts, optional added latency)
 * over a generated store: N approved, enabled mailboxes of one profile, each in the due index and
 * due a minute ago. Ticks are fired back to back, as the timer would fire them once per period,
 * until every mailbox is enqueued; the bench reports how many ticks that took, the time and the
 * requests of each, and checks that each mailbox was enqueued exactly once (the queue holds N
 * messages and the index holds no entry that is still due).
 *
 *   npm run bench:scheduler -- 100000        (due mailboxes; default 100000)
 *   npm run bench:scheduler -- 2000          (quick check, about a minute)
 * Environment: BENCH_LATENCY (ms added to each Storage request; default 0), BENCH_SETUP_CONCURRENCY
 * (default 32). Setup (creating the mailboxes and their index entries) goes to Azurite directly,
 * uncounted; it is slow in Azurite for large N when every mailbox shares one partition (decision
 * 0008), and the bench prints its rate as it goes.
 * Prints Markdown rows for docs/benchmarks.md.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { spawnSync } from "node:child_process";
import { QueueServiceClient } from "@azure/storage-queue";
import { connectionStringFor } from "../shared/runtime/azurite.js";
import { loadAppSettings } from "../shared/config/appSettings.js";
import { createServices, type Services } from "../shared/runtime/services.js";
import { createLogger } from "../shared/runtime/logger.js";
import { createProfile } from "../shared/admin/profiles.js";
import { EMPTY_STATS, NEW_DIRECTION, type Mailbox } from "../shared/domain/mailbox.js";
import { runSchedulerTick, TICK_LIMIT } from "../shared/sync/scheduler.js";
import { QUEUES } from "../shared/storage/names.js";
import { startAzuriteRetrying } from "./support/azuriteRetry.js";
import { startCountingProxies, KINDS, type KindCounts } from "./support/countingProxy.js";

const N = Number(process.argv[2] ?? 100_000);
const LATENCY = Number(process.env.BENCH_LATENCY ?? 0);
const SETUP_CONCURRENCY = Number(process.env.BENCH_SETUP_CONCURRENCY ?? 32);
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

async function pool<T>(items: T[], size: number, run: (t: T) => Promise<unknown>, progress?: (done: number) => void): Promise<void> {
  let next = 0, done = 0;
  await Promise.all(Array.from({ length: size }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await run(item);
      if (++done % 5000 === 0) progress?.(done);
    }
  }));
}

const quiet = { log: createLogger({ level: "silent" }) };
const settingsFor = (connectionString: string): ReturnType<typeof loadAppSettings> =>
  loadAppSettings({ AzureWebJobsStorage: connectionString, LOCAL_SECRETS_KEY: randomBytes(32).toString("base64") });

const azurite = await startAzuriteRetrying();
const proxies = await startCountingProxies(azurite, undefined, { latencyMs: LATENCY });
try {
  const direct: Services = await createServices(settingsFor(azurite.connectionString), quiet);
  const services: Services = await createServices(settingsFor(connectionStringFor(proxies.ports.blob, proxies.ports.queue, proxies.ports.table)), quiet);
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
  let t = performance.now();
  const rate = (label: string) => (done: number): void =>
    console.error(`  setup: ${done.toLocaleString("en-US")} ${label} at ${(done / ((performance.now() - t) / 1000)).toFixed(0)}/s`);
  await pool(mailboxes, SETUP_CONCURRENCY, (m) => direct.repos.mailboxes.create(m), rate("mailboxes"));
  const mailboxSetupS = (performance.now() - t) / 1000;
  t = performance.now();
  // Due a minute ago, spread over the last five minutes of lastSyncAt as a live org would be.
  await pool(mailboxes, SETUP_CONCURRENCY, (m) => direct.due.schedule("incoming", m.id, new Date(now - 60_000 - Math.floor(Math.random() * 240_000)), true), rate("index entries"));
  const indexSetupS = (performance.now() - t) / 1000;
  console.error(`setup: ${N} mailboxes in ${mailboxSetupS.toFixed(1)} s, their due entries in ${indexSetupS.toFixed(1)} s`);

  // Finding alone: the one range query of a tick, without its per-tick limit.
  const k0 = { ...proxies.kinds };
  t = performance.now();
  const found = await services.due.due("incoming", new Date(), N + 1);
  const findMs = performance.now() - t;
  const findRequests = KINDS.reduce((n, k) => n + proxies.kinds[k] - k0[k], 0);
  if (found.length !== N) throw new Error(`the index finds ${found.length} due mailboxes, expected ${N}`);

  const ticks: { ms: number; enqueued: number; kinds: KindCounts }[] = [];
  let enqueued = 0;
  while (enqueued < N && ticks.length < Math.ceil(N / TICK_LIMIT) + 5) {
    const before = { ...proxies.kinds };
    t = performance.now();
    const r = await runSchedulerTick(services);
    const ms = performance.now() - t;
    const kinds = Object.fromEntries(KINDS.map((k) => [k, proxies.kinds[k] - before[k]])) as KindCounts;
    ticks.push({ ms, enqueued: r.incoming, kinds });
    enqueued += r.incoming;
    console.error(`  tick ${ticks.length}: ${r.incoming} enqueued in ${(ms / 1000).toFixed(1)} s`);
    if (r.incoming === 0) break;
  }
  // Exactly once: N queue messages, nothing still due in the index.
  const queue = QueueServiceClient.fromConnectionString(azurite.connectionString).getQueueClient(QUEUES.incoming);
  const messages = (await queue.getProperties()).approximateMessagesCount ?? -1;
  const stillDue = (await direct.due.due("incoming", new Date(), 10)).length;
  const exact = messages === N && enqueued === N && stillDue === 0;

  const totalMs = ticks.reduce((n, x) => n + x.ms, 0);
  const total = (k: keyof KindCounts): number => ticks.reduce((n, x) => n + x.kinds[k], 0);
  const requests = KINDS.reduce((n, k) => n + total(k), 0);
  const perMailbox = (x: number): string => (x / Math.max(1, enqueued)).toFixed(2);
  console.log(`\nScheduler, ${N.toLocaleString("en-US")} due mailboxes, ${LATENCY} ms added per Storage request, ${COMMIT}, ${new Date().toISOString().slice(0, 10)}; ` +
    `timer period ${period} s (SCHEDULER_SCHEDULE ${services.appSettings.SCHEDULER_SCHEDULE}), TICK_LIMIT ${TICK_LIMIT}\n`);
  console.log("| due mailboxes | Storage latency | commit | find: rows / requests / ms | ticks to enqueue all | periods needed | time, all ticks | first tick | requests/mailbox | table GET | $batch | queue | other | within one period | exactly once |");
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  const other = requests - total("tableGet") - total("tableBatch") - total("queue");
  const within = ticks.length === 1 && totalMs <= period * 1000 && enqueued === N;
  console.log(`| ${N.toLocaleString("en-US")} | ${LATENCY} ms | ${COMMIT} | ${found.length.toLocaleString("en-US")} / ${findRequests} / ${findMs.toFixed(0)} | ${ticks.length} | ` +
    `${ticks.length} x ${period} s | ${(totalMs / 1000).toFixed(1)} s | ${ticks[0]?.enqueued ?? 0} in ${((ticks[0]?.ms ?? 0) / 1000).toFixed(1)} s | ` +
    `${perMailbox(requests)} | ${perMailbox(total("tableGet"))} | ${perMailbox(total("tableBatch"))} | ${perMailbox(total("queue"))} | ${perMailbox(other)} | ` +
    `${within ? "yes" : "no"} | ${exact ? "yes" : `NO (queue ${messages}, enqueued ${enqueued}, still due ${stillDue})`} |`);
  console.log(`\nEnqueue rate ${(enqueued / (totalMs / 1000)).toFixed(0)} mailboxes/s over all ticks; setup ${mailboxSetupS.toFixed(0)} s + ${indexSetupS.toFixed(0)} s.`);
  if (!exact) process.exitCode = 1;
} finally {
  await proxies.close();
  await azurite.stop();
}
