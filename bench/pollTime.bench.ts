/**
 * Benchmark for docs/cost.md: how long an empty poll takes (what Flex Consumption bills as GB-s
 * while it runs) and what it costs in Storage requests, with a fixed latency added to every Storage
 * request (bench/support/countingProxy.ts). The mailbox keeps 200 messages on the in-process POP3
 * test server (plain POP3 on loopback, so the mail server's own round trips cost nothing here:
 * add them for a real server). Median of 20 empty polls after the first (filling) poll.
 *   npm run bench:polltime                 (latencies 0,5,10 ms)
 *   BENCH_LATENCIES=10 npm run bench:polltime
 */
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { spawnSync } from "node:child_process";
import { connectionStringFor } from "../shared/runtime/azurite.js";
import { loadAppSettings } from "../shared/config/appSettings.js";
import { createServices } from "../shared/runtime/services.js";
import { createLogger } from "../shared/runtime/logger.js";
import { pollMailbox } from "../shared/sync/incoming/pollMailbox.js";
import { Pop3TestServer } from "../test/support/pop3-server.js";
import { startAzuriteRetrying } from "./support/azuriteRetry.js";
import { enabledMailbox } from "./support/benchMailbox.js";
import { startCountingProxies, KINDS } from "./support/countingProxy.js";

const LATENCIES = (process.env.BENCH_LATENCIES ?? "0,5,10").split(",").map(Number);
const KEPT = 200, ROUNDS = 20;
const COMMIT = process.env.BENCH_COMMIT ??
  `${spawnSync("git", ["rev-parse", "--short", "HEAD"]).stdout?.toString().trim() || "?"}${spawnSync("git", ["status", "--porcelain", "--", "shared"]).stdout?.toString().trim() ? "+changes" : ""}`;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

const azurite = await startAzuriteRetrying();
const proxies = await startCountingProxies(azurite);
const pop3 = await Pop3TestServer.start({
  messages: Array.from({ length: KEPT }, (_, i) => Buffer.from(`Message-ID: <t-${i}@bench.test>\r\nFrom: s${i}@fabrikam.test\r\nTo: support@contoso.test\r\nSubject: t ${i}\r\n\r\nhello ${i}\r\n`)),
  pipelining: true,
});
try {
  const services = await createServices(
    loadAppSettings({ AzureWebJobsStorage: connectionStringFor(proxies.ports.blob, proxies.ports.queue, proxies.ports.table), LOCAL_SECRETS_KEY: randomBytes(32).toString("base64") }),
    { log: createLogger({ level: "silent" }) },
  );
  const id = await enabledMailbox(services, { tag: "polltime", host: "127.0.0.1", port: pop3.port, useSsl: false, userName: "alice", password: "s3cret-Pa55" });
  await pollMailbox(services, id);
  console.log(`\nEmpty poll, ${KEPT} messages kept on the server, ${COMMIT}, ${new Date().toISOString().slice(0, 10)}, median of ${ROUNDS}\n`);
  console.log("| commit | Storage latency | ms per empty poll | Storage requests | app CPU ms |");
  console.log("| --- | --- | --- | --- | --- |");
  for (const l of LATENCIES) {
    proxies.setLatency(l);
    const times: number[] = [], cpus: number[] = [];
    let requests = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const before = KINDS.reduce((n, k) => n + proxies.kinds[k], 0);
      const c = process.cpuUsage();
      const t = performance.now();
      const res = await pollMailbox(services, id);
      times.push(performance.now() - t);
      const cpu = process.cpuUsage(c);
      cpus.push((cpu.user + cpu.system) / 1000);
      requests = KINDS.reduce((n, k) => n + proxies.kinds[k], 0) - before;
      if (res.status !== "done" || res.fetched !== 0) throw new Error(`not an empty poll: ${JSON.stringify(res)}`);
    }
    console.log(`| ${COMMIT} | ${l} ms | ${median(times).toFixed(0)} | ${requests} | ${median(cpus).toFixed(1)} |`);
  }
} finally {
  await pop3.close();
  await proxies.close();
  await azurite.stop();
}
