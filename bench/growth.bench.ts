/**
 * Benchmark (issue 15, point 5, the Storage-growth target): does Azurite's time per request stay
 * flat (within 2x) from an empty store to 50,000 activities? With the product's table layout, the
 * bench shows it either way.
 *
 * The store is filled through the product's own write path: activities go through saveOrJoin
 * (shared/sync/incoming/activity.ts, what the ingest calls for every message), cloned from an
 * activity a real poll just wrote (so the documents and their index rows have whatever shape the
 * product gives them), each with its own Message-ID, conversation, subject and one of 20 mailboxes.
 * BENCH_FILL=poll fills through pollMailbox instead (every row a real poll writes: raw blob,
 * markers, checkpoint; about 10x slower).
 * At 0, 10k, 25k and 50k activities (x BENCH_SCALE) a probe measures: a fresh mailbox with 100
 * messages polled by pollMailbox (in-process POP3 test server) through the counting proxy, which
 * times Azurite's answer to every request (bench/support/countingProxy.ts). The fill's own requests
 * are timed too, per window, so the curve between checkpoints shows.
 *
 *   npm run bench:growth                      (0 / 10k / 25k / 50k)
 *   BENCH_SCALE=0.1 npm run bench:growth      (0 / 1k / 2.5k / 5k: quick check, a few minutes)
 * Prints Markdown rows for docs/benchmarks.md, and on stderr each window's requests by kind and
 * table/container (with a $batch's operations), busiest first.
 *
 *   BENCH_AZURITE_PROFILE=/tmp/prof npm run bench:growth
 * also CPU-profiles Azurite in every fill window and probe (bench/support/cpuProfile.ts):
 * <dir>/NN-<window>.cpuprofile, summarised by `node --import tsx bench/support/cpuProfileTop.ts <files>`;
 * the per-target timings go to <dir>/targets.json. The profiler costs Azurite some CPU, so the
 * figures of such a run are not the ones to report. BENCH_AZURITE_REQUIRE=<file.cjs>[,...] preloads
 * CommonJS modules into Azurite the same way (experiments: a patched emulator against the stock one).
 */
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { connectionStringFor } from "../shared/runtime/azurite.js";
import { loadAppSettings } from "../shared/config/appSettings.js";
import { createServices, type Services } from "../shared/runtime/services.js";
import { createLogger } from "../shared/runtime/logger.js";
import { pollMailbox } from "../shared/sync/incoming/pollMailbox.js";
import { saveOrJoin } from "../shared/sync/incoming/activity.js";
import { emailLookup, incomingEmailId } from "../shared/storage/emailStore.js";
import type { EmailActivity } from "../shared/domain/email.js";
import { Pop3TestServer } from "../test/support/pop3-server.js";
import { startBenchAzurite } from "./support/benchAzurite.js";
import { enabledMailbox } from "./support/benchMailbox.js";
import { startCountingProxies, KINDS, noTimings, type Kind, type TargetTiming, type Timings } from "./support/countingProxy.js";
import { cpuMsOf } from "./support/procStats.js";

const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const FILL = process.env.BENCH_FILL ?? "direct";
const CHECKPOINTS = [0, 10_000, 25_000, 50_000].map((n) => Math.round(n * SCALE));
const PROBE = 100;
const MAILBOXES = 20;
const CONCURRENCY = 16;
// The label of the figures: the commit, "+changes" when shared/ differs from it (BENCH_COMMIT overrides; see bench/ingest.bench.ts).
const COMMIT = process.env.BENCH_COMMIT ??
  `${spawnSync("git", ["rev-parse", "--short", "HEAD"]).stdout?.toString().trim() || "?"}${spawnSync("git", ["status", "--porcelain", "--", "shared"]).stdout?.toString().trim() ? "+changes" : ""}`;

const message = (tag: string, i: number): Buffer => Buffer.from(
  `Message-ID: <growth-${tag}-${i}@bench.test>\r\nFrom: Sender ${i % 50} <s${i % 50}@fabrikam.test>\r\nTo: support@contoso.test\r\n` +
  `Subject: growth ${tag} ${i}\r\nDate: Thu, 03 Dec 2026 05:00:00 +0000\r\n\r\n${"hello growth bench ".repeat(200)}\r\n`);

const { azurite, pid, profile, profileDir: PROFILE } = await startBenchAzurite();
const proxies = await startCountingProxies(azurite, undefined, { byTarget: true });
const targetReport: Record<string, Record<string, TargetTiming>> = {};
/** The requests by kind and target since `before`, busiest (total wall ms) first, on stderr. */
const reportTargets = (window: string, before: Record<string, TargetTiming>): void => {
  const d = Object.entries(proxies.byTarget)
    .map(([k, v]) => [k, { n: v.n - (before[k]?.n ?? 0), ms: v.ms - (before[k]?.ms ?? 0), ops: v.ops - (before[k]?.ops ?? 0) }] as const)
    .filter(([, v]) => v.n > 0);
  d.sort((a, b) => b[1].ms - a[1].ms);
  targetReport[window] = Object.fromEntries(d);
  console.error(`  ${window}, requests by target (requests, operations, wall ms/request):`);
  for (const [k, v] of d.slice(0, 15)) console.error(`    ${String(v.n).padStart(7)} ${String(v.ops).padStart(7)}  ${(v.ms / v.n).toFixed(2).padStart(8)}  ${k}`);
  if (PROFILE) writeFileSync(`${PROFILE}/targets.json`, JSON.stringify(targetReport, null, 2));
};
const servers: Pop3TestServer[] = [];
try {
  const services: Services = await createServices(
    loadAppSettings({ AzureWebJobsStorage: connectionStringFor(proxies.ports.blob, proxies.ports.queue, proxies.ports.table), LOCAL_SECRETS_KEY: randomBytes(32).toString("base64") }),
    { log: createLogger({ level: "silent" }) },
  );
  /** A mailbox on its own in-process POP3 server holding `messages`, approved and enabled. */
  const mailboxWith = async (tag: string, messages: Buffer[]): Promise<string> => {
    const pop3 = await Pop3TestServer.start({ messages, pipelining: true });
    servers.push(pop3);
    return enabledMailbox(services, { tag, host: "127.0.0.1", port: pop3.port, useSsl: false, userName: "alice", password: "s3cret-Pa55" });
  };
  const drain = async (id: string): Promise<number> => {
    let n = 0;
    for (;;) {
      const r = await pollMailbox(services, id);
      if (r.status !== "done") throw new Error(`poll: ${JSON.stringify(r)}`);
      n += r.fetched;
      if (!r.more) return n;
    }
  };
  const snapshot = (): { kinds: Record<Kind, number>; timings: Timings; cpu: number } => ({ kinds: { ...proxies.kinds }, timings: structuredClone(proxies.timings), cpu: cpuMsOf(pid) });
  /** Azurite's CPU ms per request since `s` (its own cost, whatever else runs on the machine). */
  const cpuPer = (s: ReturnType<typeof snapshot>, t: Timings): number => (cpuMsOf(pid) - s.cpu) / Math.max(1, count(t));
  const since = (s: ReturnType<typeof snapshot>): Timings => {
    const d = noTimings();
    for (const k of KINDS) d[k] = { n: proxies.timings[k].n - s.timings[k].n, ms: proxies.timings[k].ms - s.timings[k].ms };
    return d;
  };
  function count(t: Timings, kinds: readonly Kind[] = KINDS): number { return kinds.reduce((x, k) => x + t[k].n, 0); }
  const msPer = (t: Timings, kinds: readonly Kind[] = KINDS): number => {
    const n = kinds.reduce((x, k) => x + t[k].n, 0);
    return n ? kinds.reduce((x, k) => x + t[k].ms, 0) / n : NaN;
  };

  let activities = 0;
  let template: EmailActivity | undefined;
  const rows: string[] = [];
  const fillWindows: string[] = [];
  let base: number | undefined;
  const fillMailboxes: string[] = [];
  for (const [c, target] of CHECKPOINTS.entries()) {
    // Fill up to the checkpoint.
    const t0 = performance.now();
    const s0 = snapshot();
    const bt0 = structuredClone(proxies.byTarget);
    const from = activities;
    if (target > activities) profile(`fill-${activities}-${target}`); // the probes add theirs, so a window fills less than the checkpoints' gap
    if (FILL === "poll") {
      while (activities < target) {
        const batch = Math.min(500, target - activities);
        const per = Math.ceil(batch / CONCURRENCY);
        const ids = await Promise.all(Array.from({ length: Math.ceil(batch / per) }, (_, j) =>
          mailboxWith(`fill${activities}-${j}`, Array.from({ length: Math.min(per, batch - j * per) }, (_, i) => message(`f${activities}-${j}`, i)))));
        const got = await Promise.all(ids.map(drain));
        activities += got.reduce((a, b) => a + b, 0);
      }
    } else if (activities < target) {
      if (!template) throw new Error("no template activity (the first probe files one)");
      const tpl = template;
      let next = activities;
      await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
        while (next < target) {
          const i = next++;
          const mailboxId = fillMailboxes[i % MAILBOXES] ?? tpl.mailboxId;
          // As the ingest makes them (processMessage.ts): the id names the Message-ID key's partition, a new thread.
          const messageId = `<fill-${i}@growth.bench.test>`;
          const id = incomingEmailId(emailLookup.messageId(messageId));
          const clone: EmailActivity = {
            ...tpl, id, messageId, conversationId: id,
            subject: `growth fill ${i}`, normalizedSubject: `growth fill ${i}`, mailboxId, receivedByMailboxIds: [mailboxId],
            sha256: randomBytes(32).toString("hex"), contentDigest: randomBytes(32).toString("hex"),
          };
          delete clone.messageIdKey;
          // Kept inline as the ingest keeps a small message (decision 0029): the bytes go in the same transaction.
          const saved = await saveOrJoin(services, clone, undefined, clone.rawInline ? Buffer.from(`Message-ID: ${messageId}\r\nSubject: growth fill ${i}\r\n\r\n${"x".repeat(4000)}\r\n`) : undefined);
          if (!saved.created) throw new Error(`fill activity ${i} was not created`);
        }
      }));
      activities = target;
    }
    if (target > from) {
      profile();
      reportTargets(`fill ${from} → ${target}`, bt0);
      const t = since(s0);
      fillWindows.push(`| ${COMMIT} | ${CHECKPOINTS[c - 1]?.toLocaleString("en-US")} → ${target.toLocaleString("en-US")} | ${FILL} | ${((performance.now() - t0) / 1000).toFixed(0)} s | ` +
        `${(count(t) / Math.max(1, target - from)).toFixed(2)} | ${cpuPer(s0, t).toFixed(2)} | ${msPer(t).toFixed(2)} | ${msPer(t, ["tableGet"]).toFixed(2)} | ${msPer(t, ["tableBatch"]).toFixed(2)} |`);
      console.error(`  filled to ${target} in ${((performance.now() - t0) / 1000).toFixed(0)} s\n  ${fillWindows.at(-1)}`);
    }
    // The probe: a real poll of PROBE new messages in a fresh mailbox.
    const probeId = await mailboxWith(`probe${c}`, Array.from({ length: PROBE }, (_, i) => message(`p${c}`, i)));
    const s1 = snapshot();
    const bt1 = structuredClone(proxies.byTarget);
    profile(`probe-${target}`);
    const t1 = performance.now();
    const got = await drain(probeId);
    const probeMs = performance.now() - t1;
    profile();
    reportTargets(`probe at ${target}`, bt1);
    const t = since(s1);
    const cpu = cpuPer(s1, t);
    if (got !== PROBE) throw new Error(`probe filed ${got} of ${PROBE}`);
    activities += got;
    if (!template) {
      // The template for the fill: an activity the product itself just wrote, and the fill's mailboxes.
      const page = await services.emails.list({ top: 1 });
      template = page.items[0]?.doc;
      for (let m = 0; m < MAILBOXES; m++) fillMailboxes.push(await mailboxWith(`fillbox${m}`, []));
    }
    const all = msPer(t);
    base ??= cpu;
    rows.push(`| ${COMMIT} | ${target.toLocaleString("en-US")} (${activities.toLocaleString("en-US")} after the probe) | ${(PROBE / (probeMs / 1000)).toFixed(1)} | ` +
      `${(count(t) / PROBE).toFixed(2)} | ${cpu.toFixed(2)} | ${all.toFixed(2)} | ${msPer(t, ["tableGet"]).toFixed(2)} | ${msPer(t, ["tableQuery"]).toFixed(2)} | ` +
      `${msPer(t, ["tableBatch"]).toFixed(2)} | ${msPer(t, ["blobPut"]).toFixed(2)} | ${(cpu / base).toFixed(2)}x |`);
    console.error(`  probe at ${target}: Azurite CPU ${cpu.toFixed(2)} ms, wall ${all.toFixed(2)} ms per request\n  ${rows.at(-1)}`);
  }
  console.log(`\nAzurite's time per request as the store grows, ${COMMIT}, ${new Date().toISOString().slice(0, 10)}, fill ${FILL}, scale ${SCALE}\n`);
  console.log("| commit | activities in the store | probe msgs/s | probe requests/msg | Azurite CPU ms/request | wall ms/request (proxy) | wall: point GET | wall: QUERY | wall: $batch | wall: blob PUT | CPU/request vs empty store |");
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const r of rows) console.log(r);
  console.log("\nThe fill itself (its own requests, timed the same way):\n");
  console.log("| commit | activities | fill | time | requests/activity | Azurite CPU ms/request | wall ms/request | wall: point GET | wall: $batch |");
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const r of fillWindows) console.log(r);
} finally {
  for (const s of servers) await s.close();
  await proxies.close();
  await azurite.stop();
}
