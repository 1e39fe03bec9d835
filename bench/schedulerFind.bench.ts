/**
 * Benchmark (issue 15, point 6, the "find" half): how long the scheduler's one range query takes to
 * find 100,000 due mailboxes, over a generated due index. bench:scheduler runs the whole tick but
 * needs the mailboxes too; the index alone can be written in $batch requests of 100 rows, in the
 * layout of shared/coordination/dueIndex.ts (an entry row `t|<due ms, 13 digits>|<id>` and a
 * pointer row `m|<id>` per mailbox, in the mailbox's shard `due|incoming|<nn>` of the coordination
 * table, decision 0028). If that layout changes, change `entryRows` below with it (the bench checks
 * one entry through DueIndex.nextDue before it measures). Then DueIndex.due(), which the tick
 * calls, reads the shards in parallel through the counting proxy at 0 and 10 ms.
 *   npm run bench:scheduler-find -- 100000
 */
import { randomBytes, randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { spawnSync } from "node:child_process";
import { TableClient, type TransactionAction } from "@azure/data-tables";
import { connectionStringFor } from "../shared/runtime/azurite.js";
import { loadAppSettings } from "../shared/config/appSettings.js";
import { createServices } from "../shared/runtime/services.js";
import { createLogger } from "../shared/runtime/logger.js";
import { encodeKey } from "../shared/storage/documentTable.js";
import { TABLES } from "../shared/storage/names.js";
import { DUE_SHARDS, duePartition, dueShardOf } from "../shared/coordination/dueIndex.js";
import { startAzuriteRetrying } from "./support/azuriteRetry.js";
import { startCountingProxies, KINDS } from "./support/countingProxy.js";

const N = Number(process.argv[2] ?? 100_000);
const COMMIT = process.env.BENCH_COMMIT ??
  `${spawnSync("git", ["rev-parse", "--short", "HEAD"]).stdout?.toString().trim() || "?"}${spawnSync("git", ["status", "--porcelain", "--", "shared"]).stdout?.toString().trim() ? "+changes" : ""}`;

function entryRows(id: string, dueMs: number): { partitionKey: string; rowKey: string; entryRowKey?: string }[] {
  const pk = duePartition("incoming", dueShardOf(id));
  const entry = `t|${String(dueMs).padStart(13, "0")}|${encodeKey(id)}`;
  return [{ partitionKey: pk, rowKey: entry }, { partitionKey: pk, rowKey: `m|${encodeKey(id)}`, entryRowKey: entry }];
}

const azurite = await startAzuriteRetrying();
const proxies = await startCountingProxies(azurite);
try {
  const services = await createServices(
    loadAppSettings({ AzureWebJobsStorage: connectionStringFor(proxies.ports.blob, proxies.ports.queue, proxies.ports.table), LOCAL_SECRETS_KEY: randomBytes(32).toString("base64") }),
    { log: createLogger({ level: "silent" }) },
  );
  const table = TableClient.fromConnectionString(azurite.connectionString, TABLES.coordination, { allowInsecureConnection: true });
  const now = Date.now();
  let t = performance.now();
  // Transactions of 100 rows (50 mailboxes), each of one shard.
  const ids = Array.from({ length: N }, () => randomUUID());
  const byShard = new Map<string, TransactionAction[]>();
  const batches: TransactionAction[][] = [];
  for (const id of ids) {
    for (const row of entryRows(id, now - 60_000 - Math.floor(Math.random() * 240_000))) {
      const b = byShard.get(row.partitionKey) ?? [];
      b.push(["create", row]);
      if (b.length === 100) { batches.push(b); byShard.delete(row.partitionKey); } else byShard.set(row.partitionKey, b);
    }
  }
  batches.push(...byShard.values());
  let next = 0, done = 0;
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (next < batches.length) {
      const b = batches[next++] ?? [];
      await table.submitTransaction(b);
      if (++done % 200 === 0) console.error(`  setup: ${done * 50} of ${N} at ${(done * 50 / ((performance.now() - t) / 1000)).toFixed(0)}/s`);
    }
  }));
  console.error(`setup: ${N} due entries in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  if (!(await services.due.nextDue("incoming", ids[0] ?? ""))) throw new Error("the generated rows are not where DueIndex reads them: follow its layout");
  console.log(`\nFinding ${N.toLocaleString("en-US")} due mailboxes (DueIndex.due, the tick's queries over ${DUE_SHARDS} shards), ${COMMIT}, ${new Date().toISOString().slice(0, 10)}\n`);
  console.log("| due entries | Storage latency | commit | rows found | requests | ms |");
  console.log("| --- | --- | --- | --- | --- | --- |");
  for (const latency of [0, 10]) {
    proxies.setLatency(latency);
    const before = KINDS.reduce((n, k) => n + proxies.kinds[k], 0);
    t = performance.now();
    const found = await services.due.due("incoming", new Date(), N + 1);
    const ms = performance.now() - t;
    const requests = KINDS.reduce((n, k) => n + proxies.kinds[k], 0) - before;
    if (found.length !== N) throw new Error(`found ${found.length}, expected ${N}`);
    console.log(`| ${N.toLocaleString("en-US")} | ${latency} ms | ${COMMIT} | ${found.length.toLocaleString("en-US")} | ${requests} | ${ms.toFixed(0)} |`);
  }
} finally {
  await proxies.close();
  await azurite.stop();
}
