/**
 * Benchmark (issue 15, point 4): ingest throughput of the product against two peers on the same
 * Dovecot in the same run, with a fixed latency added to every Storage request.
 *
 *   sudo bash scripts/e2e/setup.sh             (Dovecot, the vmail user, the e2e CA; once)
 *   apt-get install fetchmail safecat          (the peer and its MDA; a missing one is left out)
 *   npm run bench:ingest                       (full: both scenarios, 0/5/10 ms, 2 runs each)
 *   BENCH_SCALE=0.1 BENCH_RUNS=1 npm run bench:ingest     (quick check: about 3 minutes)
 * Settings (environment): BENCH_SCALE (messages per mailbox x scale; default 1), BENCH_RUNS
 * (default 2; medians), BENCH_LATENCIES (ms, default 0,5,10), BENCH_SCENARIOS (default a,b),
 * BENCH_CONCURRENCY (product polls at once; default host.json queues.batchSize), BENCH_COMMIT (label),
 * BENCH_CPU_PROF (a directory: the product's process writes a V8 CPU profile of its measured
 * window there, per run; open it in Chrome DevTools).
 * To measure a commit while the working tree holds someone's edits, run it from an export:
 *   git archive HEAD | tar -x -C /tmp/at-head && ln -s $PWD/node_modules /tmp/at-head/ &&
 *   (cd /tmp/at-head && BENCH_COMMIT=$(git -C $OLDPWD rev-parse --short HEAD) npm run bench:ingest)
 *
 * Scenarios: (a) 20 mailboxes x 200 messages of 4 KiB; (b) one mailbox with a 2,000-message backlog.
 * Contenders, each reading every message over implicit TLS from the bench's own Dovecot
 * (bench/support/benchDovecot.ts), messages kept on the server:
 *  - product: pollMailbox per mailbox until drained, in its own process (bench/support/ingestProduct.ts),
 *    Storage = in-memory Azurite behind bench/support/countingProxy.ts (latency, requests by kind);
 *    checked exact afterwards: 0 lost, 0 duplicated, every raw byte-identical (sha256) to the file;
 *  - fetchmail delivering each message to a Maildir through safecat (fsync'd; Debian package);
 *  - download only: bench/support/pipelinedReader.ts, every RETR sent before the replies are read,
 *    up to 4 connections (a mailbox at a time each; the one mailbox of (b) split in 4 ranges).
 * Prints Markdown tables for docs/benchmarks.md (one row per scenario and latency to paste).
 */
import { fork, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { connectionStringFor, type AzuriteInstance } from "../shared/runtime/azurite.js";
import { startAzuriteRetrying } from "./support/azuriteRetry.js";
import { startCountingProxies, noKinds, KINDS, type KindCounts, type Timings } from "./support/countingProxy.js";
import { BENCH_PASSWORD, fillMaildir, startBenchDovecot, type BenchDovecot, type Delivered } from "./support/benchDovecot.js";
import { pipelinedRead, type ReadJob } from "./support/pipelinedReader.js";
import { azuritePid, cpuMsOf } from "./support/procStats.js";
import type { ProductJob, ProductResult } from "./support/ingestProduct.js";

const here = dirname(fileURLToPath(import.meta.url));
const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const RUNS = Number(process.env.BENCH_RUNS ?? 2);
const LATENCIES = (process.env.BENCH_LATENCIES ?? "0,5,10").split(",").map(Number);
const SCENARIOS = (process.env.BENCH_SCENARIOS ?? "a,b").split(",");
const hostJson = JSON.parse(readFileSync(join(here, "..", "host.json"), "utf8")) as { extensions?: { queues?: { batchSize?: number } } };
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? hostJson.extensions?.queues?.batchSize ?? 16);
const READER_CONNECTIONS = 4;
const MESSAGE_BYTES = 4096;
// The label of the product's figures: the commit, "+changes" when shared/ or functions/ differ from it.
// BENCH_COMMIT overrides it (a run from an exported tree, e.g. git archive HEAD, has no .git).
const COMMIT = process.env.BENCH_COMMIT ?? (spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: join(here, "..") }).stdout?.toString().trim() || "?");
const DIRTY = process.env.BENCH_COMMIT ? "" : spawnSync("git", ["status", "--porcelain", "--", "shared", "functions"], { cwd: join(here, "..") }).stdout?.toString().trim() ? "+changes" : "";

interface Scenario { key: string; title: string; users: string[]; perMailbox: number }
const scenarios: Scenario[] = [
  { key: "a", title: "20 mailboxes x 200 x 4 KiB", users: Array.from({ length: 20 }, (_, i) => `bench-a${String(i + 1).padStart(2, "0")}`), perMailbox: Math.max(1, Math.round(200 * SCALE)) },
  { key: "b", title: "one mailbox, 2,000-message backlog, 4 KiB", users: ["bench-b01"], perMailbox: Math.max(1, Math.round(2000 * SCALE)) },
].filter((s) => SCENARIOS.includes(s.key));

/** Exactly MESSAGE_BYTES of plain text with CRLF line ends, a dot line now and then; unique Message-ID. */
function message(user: string, i: number): Buffer {
  const head = `Return-Path: <sender${i % 97}@fabrikam.test>\r\nMessage-ID: <ingest-${user}-${i}@bench.test>\r\n` +
    `Date: Thu, 03 Dec 2026 05:00:${String(i % 60).padStart(2, "0")} +0000\r\nFrom: Sender ${i % 97} <sender${i % 97}@fabrikam.test>\r\n` +
    `To: ${user}@bench.test\r\nSubject: Ingest bench ${user} message ${i}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n`;
  const line = "The quick brown fox jumps over the lazy dog while the ingest keeps up. 0123456789\r\n";
  let body = "";
  for (let n = 0; head.length + body.length + line.length <= MESSAGE_BYTES - 16; n++) body += n % 20 === 7 ? `.${line}` : line;
  const filler = MESSAGE_BYTES - head.length - body.length - 2;
  return Buffer.from(head + body + "x".repeat(filler) + "\r\n");
}

const have = (cmd: string): boolean => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length === 0 ? NaN : s.length % 2 ? (s[m] ?? NaN) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};
const fmt = (x: number, d = 1): string => (Number.isFinite(x) ? x.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d }) : "-");

// ---------- contenders ----------

async function downloadOnly(d: BenchDovecot, s: Scenario): Promise<{ ms: number; messages: number }> {
  const jobs: ReadJob[] = s.users.length >= READER_CONNECTIONS
    ? s.users.map((user) => ({ user, password: BENCH_PASSWORD }))
    : s.users.flatMap((user) => Array.from({ length: READER_CONNECTIONS }, (_, c) => ({
      user, password: BENCH_PASSWORD,
      msgNos: Array.from({ length: s.perMailbox }, (_, i) => i + 1).filter((n) => n % READER_CONNECTIONS === c),
    })));
  const t = performance.now();
  const r = await pipelinedRead(d.host, d.pop3sPort, d.ca, jobs, READER_CONNECTIONS);
  const ms = performance.now() - t;
  if (r.messages !== s.users.length * s.perMailbox) throw new Error(`download only read ${r.messages} messages, expected ${s.users.length * s.perMailbox}`);
  return { ms, messages: r.messages };
}

const MDA = have("safecat") ? "safecat" : "deliver.sh";

function fetchmail(d: BenchDovecot, s: Scenario, work: string): { ms: number; messages: number } {
  const out = join(work, "fetchmail-out");
  rmSync(out, { recursive: true, force: true });
  const deliver = join(work, "deliver.sh");
  // Without safecat: a tiny fsync'ing Maildir delivery (tmp, fsync, rename into new).
  writeFileSync(deliver, '#!/bin/sh\nf="$1/tmp/$(date +%s%N).$$"; cat > "$f" && sync "$f" && mv "$f" "$1/new/"\n', { mode: 0o755 });
  const users = s.users.map((u) => {
    for (const sub of ["tmp", "new", "cur"]) mkdirSync(join(out, u, sub), { recursive: true });
    const mda = MDA === "safecat" ? `safecat ${join(out, u, "tmp")} ${join(out, u, "new")}` : `${deliver} ${join(out, u)}`;
    return `  user "${u}" there password "${BENCH_PASSWORD}" ssl sslcertck sslcertfile "${d.caFile}" sslcommonname localhost keep fetchall mda "${mda}"\n`;
  });
  const rc = join(work, "fetchmailrc");
  writeFileSync(rc, `set no syslog\nset no bouncemail\npoll ${d.host} service ${d.pop3sPort} protocol pop3 timeout 120\n${users.join("")}`, { mode: 0o600 });
  rmSync(join(work, "fetchids"), { force: true });
  const t = performance.now();
  const r = spawnSync("fetchmail", ["-f", rc, "--nodetach", "-s", "--idfile", join(work, "fetchids")], { env: { ...process.env, HOME: work }, stdio: ["ignore", "ignore", "pipe"] });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`fetchmail exited ${r.status}: ${r.stderr?.toString()}`);
  const messages = s.users.reduce((n, u) => n + readdirSync(join(out, u, "new")).length, 0);
  if (messages !== s.users.length * s.perMailbox) throw new Error(`fetchmail delivered ${messages} messages, expected ${s.users.length * s.perMailbox}`);
  return { ms, messages };
}

interface ProductRun extends ProductResult {
  latencyMs: number;
  kinds: KindCounts;
  timings: Timings;
  azuriteCpuMs: number;
  proxyCpuMs: number;
}

async function product(d: BenchDovecot, delivered: Delivered[], latencyMs: number, work: string): Promise<ProductRun> {
  const azurite: AzuriteInstance = await startAzuriteRetrying();
  const pid = azuritePid();
  const proxies = await startCountingProxies(azurite, undefined, { latencyMs });
  try {
    const job: ProductJob = {
      storage: connectionStringFor(proxies.ports.blob, proxies.ports.queue, proxies.ports.table),
      direct: azurite.connectionString,
      host: d.host, port: d.pop3sPort, concurrency: CONCURRENCY,
      mailboxes: delivered.map((x) => ({ user: x.user, password: BENCH_PASSWORD, digests: x.digests })),
    };
    const jobFile = join(work, "product-job.json");
    writeFileSync(jobFile, JSON.stringify(job));
    const child = fork(join(here, "support", "ingestProduct.ts"), [jobFile], {
      execArgv: ["--import", "tsx", "--expose-gc"], env: { ...process.env, NODE_EXTRA_CA_CERTS: d.caFile }, stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    let kinds0 = noKinds(), timings0 = structuredClone(proxies.timings), az0 = 0, cpu0 = process.cpuUsage();
    const at: { kinds?: KindCounts; timings?: Timings; azMs?: number; proxyMs?: number } = {};
    const result = await new Promise<ProductResult>((resolve, reject) => {
      child.on("message", (m: { phase?: string; result?: ProductResult }) => {
        if (m.phase === "start") {
          kinds0 = { ...proxies.kinds }; timings0 = structuredClone(proxies.timings); az0 = cpuMsOf(pid); cpu0 = process.cpuUsage();
        } else if (m.phase === "end") {
          const cpu = process.cpuUsage(cpu0);
          at.azMs = cpuMsOf(pid) - az0; at.proxyMs = (cpu.user + cpu.system) / 1000;
          at.kinds = Object.fromEntries(KINDS.map((k) => [k, proxies.kinds[k] - kinds0[k]])) as KindCounts;
          at.timings = Object.fromEntries(KINDS.map((k) => [k, { n: proxies.timings[k].n - timings0[k].n, ms: proxies.timings[k].ms - timings0[k].ms }])) as Timings;
        }
        if (m.phase) child.send({ ack: m.phase });
        if (m.result) resolve(m.result);
      });
      child.on("exit", (code) => reject(new Error(`product process exited with ${code} before reporting`)));
    });
    return { ...result, latencyMs, kinds: at.kinds ?? noKinds(), timings: at.timings ?? timings0, azuriteCpuMs: at.azMs ?? NaN, proxyCpuMs: at.proxyMs ?? NaN };
  } finally {
    await proxies.close();
    await azurite.stop();
  }
}


const HEADER = "| scenario | Storage latency | commit | msgs/s | / fetchmail | / download only | requests/msg | blob PUT | table GET | table QUERY | $batch | entity PUT/MERGE | queue | other | Azurite ms/request | app CPU ms/msg | Azurite CPU ms/msg | proxy CPU ms/msg | peak RSS MiB | exactness |";

/** Requests per message of the kinds outside the main columns. */
function otherOf(ps: ProductRun[], total: number): string {
  return KINDS.filter((x) => !["blobPut", "tableGet", "tableQuery", "tableBatch", "tableUpsert", "queue"].includes(x))
    .map((x) => `${x} ${fmt(median(ps.map((p) => p.kinds[x])) / total, 3)}`).join(", ");
}

/** One Markdown row: the product's medians over `ps` at latency `l`, ratios to the peers' rates. */
function rowOf(s: Scenario, l: number, ps: ProductRun[], fmRate: number, readerRate: number): string {
  const total = s.users.length * s.perMailbox;
  const per = (f: (p: ProductRun) => number): number => median(ps.map(f)) / total;
  const k = (...names: (keyof KindCounts)[]): number => per((p) => names.reduce((n, name) => n + p.kinds[name], 0));
  const reqs = k(...KINDS);
  const azMsPerReq = median(ps.map((p) => KINDS.reduce((n, x) => n + p.timings[x].ms, 0) / Math.max(1, KINDS.reduce((n, x) => n + p.timings[x].n, 0))));
  const e = ps.map((p) => p.exact);
  const exact = e.every((x) => !x.lost && !x.duplicated && !x.mismatched && !x.extra) && ps.every((p) => p.messages === total)
    ? `exact (${ps.length}/${ps.length})` : `NOT EXACT ${JSON.stringify(e)}`;
  const prate = total / (median(ps.map((p) => p.wallMs)) / 1000);
  return `| ${s.key}: ${s.users.length} x ${s.perMailbox} | ${l} ms | ${COMMIT}${DIRTY} | ${fmt(prate)} | ${fmt(prate / fmRate, 3)} | ${fmt(prate / readerRate, 4)} | ` +
    `${fmt(reqs, 2)} | ${fmt(k("blobPut"), 2)} | ${fmt(k("tableGet"), 2)} | ${fmt(k("tableQuery"), 2)} | ${fmt(k("tableBatch"), 2)} | ${fmt(k("tableUpsert"), 2)} | ` +
    `${fmt(k("queue"), 3)} | ${fmt(k("blobGet", "blobOther", "tableInsert", "tableDelete", "tableOther"), 2)} | ${fmt(azMsPerReq, 2)} | ` +
    `${fmt(per((p) => p.cpuMs), 2)} | ${fmt(per((p) => p.azuriteCpuMs), 2)} | ${fmt(per((p) => p.proxyCpuMs), 2)} | ${fmt(median(ps.map((p) => p.peakRssMiB)), 0)} (idle ${fmt(median(ps.map((p) => p.idleRssMiB)), 0)}) | ${exact} |`;
}

// ---------- the run ----------

const work = mkdtempSync(join(tmpdir(), "ingest-bench-"));
const dovecot = await startBenchDovecot(scenarios.flatMap((s) => s.users));
const started = performance.now();
let inexact = 0;
try {
  const machine = `${spawnSync("nproc").stdout?.toString().trim()} cores (shared), load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`;
  console.log(`bench:ingest at ${COMMIT}${DIRTY}, ${new Date().toISOString()}, scale ${SCALE}, ${RUNS} run(s), latencies ${LATENCIES.join("/")} ms, ` +
    `product concurrency ${CONCURRENCY}, fetchmail MDA ${MDA}, ${machine}`);
  const rows: string[] = [];
  for (const s of scenarios) {
    const delivered = s.users.map((u) => fillMaildir(u, Array.from({ length: s.perMailbox }, (_, i) => message(u, i))));
    const total = s.users.length * s.perMailbox;
    // Warm-up (Dovecot builds its indexes) and the byte check: Dovecot serves the files as stored.
    const check = await pipelinedRead(dovecot.host, dovecot.pop3sPort, dovecot.ca, s.users.map((user) => ({ user, password: BENCH_PASSWORD })), READER_CONNECTIONS, true);
    for (const x of delivered) {
      const served = [...(check.digests.get(x.user) ?? [])].sort().join();
      if (served !== [...x.digests].sort().join()) throw new Error(`Dovecot does not serve ${x.user}'s Maildir byte for byte`);
    }
    const reader: number[] = [], fm: number[] = [];
    const runs = new Map<number, ProductRun[]>(LATENCIES.map((l) => [l, []]));
    for (let r = 0; r < RUNS; r++) {
      reader.push((await downloadOnly(dovecot, s)).ms);
      if (have("fetchmail")) fm.push(fetchmail(dovecot, s, work).ms);
      for (const l of LATENCIES) {
        const run = await product(dovecot, delivered, l, work);
        const e = run.exact;
        if (e.lost || e.duplicated || e.mismatched || e.extra || run.messages !== total) inexact++;
        console.error(`  ${s.key} run ${r + 1} ${l} ms: ${run.messages} msgs in ${fmt(run.wallMs / 1000)} s, exact ${JSON.stringify(e)}, polls ${JSON.stringify(run.statuses)}`);
        runs.get(l)?.push(run);
        console.error(`  row: ${rowOf(s, l, [run], total / ((fm.at(-1) ?? NaN) / 1000), total / ((reader.at(-1) ?? NaN) / 1000))}`);
      }
      console.error(`  ${s.key} run ${r + 1}: download only ${fmt(reader.at(-1) ?? NaN, 0)} ms, fetchmail ${fmt(fm.at(-1) ?? NaN, 0)} ms`);
    }
    const rate = (ms: number): number => total / (ms / 1000);
    const readerRate = rate(median(reader)), fmRate = fm.length ? rate(median(fm)) : NaN;
    console.log(`\n### Scenario ${s.key}: ${s.title.replace("20", String(s.users.length)).replace(/200|2,000/, s.perMailbox.toLocaleString("en-US"))} (${total.toLocaleString("en-US")} messages), median of ${RUNS}\n`);
    console.log("| contender | Storage latency | msgs/s | product / contender |");
    console.log("| --- | --- | --- | --- |");
    for (const l of LATENCIES) {
      const ps = runs.get(l) ?? [];
      console.log(`| product (${COMMIT}${DIRTY}) | ${l} ms | ${fmt(rate(median(ps.map((p) => p.wallMs))))} | - |`);
    }
    console.log(`| fetchmail + ${MDA} (fsync'd Maildir) | - | ${fmt(fmRate)} | ${LATENCIES.map((l) => `${fmt(rate(median((runs.get(l) ?? []).map((p) => p.wallMs))) / fmRate, 3)} at ${l} ms`).join(", ")} |`);
    console.log(`| download only, ${READER_CONNECTIONS} pipelined connections | - | ${fmt(readerRate)} | ${LATENCIES.map((l) => `${fmt(rate(median((runs.get(l) ?? []).map((p) => p.wallMs))) / readerRate, 4)} at ${l} ms`).join(", ")} |`);
    for (const l of LATENCIES) {
      rows.push(rowOf(s, l, runs.get(l) ?? [], fmRate, readerRate));
      const other = otherOf(runs.get(l) ?? [], total);
      console.log(`\n${s.key} at ${l} ms, other requests per message: ${other}; polls ${JSON.stringify(runs.get(l)?.[0]?.statuses)}`);
    }
  }
  console.log("\n### Product per scenario and latency (paste these rows)\n");
  console.log(HEADER);
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const r of rows) console.log(r);
  console.log(`\nbench:ingest took ${fmt((performance.now() - started) / 1000, 0)} s`);
} finally {
  await dovecot.stop();
  rmSync(work, { recursive: true, force: true });
}
if (inexact) {
  console.error(`${inexact} product run(s) were NOT exact`);
  process.exitCode = 1;
}
