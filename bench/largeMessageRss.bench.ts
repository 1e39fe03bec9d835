/**
 * Benchmark: how much memory one poll takes to fetch one large message, above what the process
 * held before (peak RSS above idle). DESIGN.md 9: sizes are capped before they reach memory, and a
 * message over maxMessageSizeKb is streamed to Blob Storage without being held in memory (goal:
 * under 64 MiB above idle). Each size is polled twice: with maxMessageSizeKb above it (the message
 * is parsed) and below it (it is streamed and quarantined as MESSAGE_TOO_LARGE). The peer is a
 * plain socket that logs in, RETRs the same message and discards the bytes: the floor for
 * "downloading it at all".
 *   npm run bench:rss -- [MiB sizes, default 25,100] [rounds, default 1]
 * Every measurement runs in a fresh process (`node --expose-gc`), so no case inherits the heap
 * another grew; the POP3 test server (which holds the message) runs in a process of its own, and
 * Azurite is a child process anyway, so the figures are the app's alone. Idle is read after setup
 * (services, profile, mailbox, connections) and a full GC. The peak is the kernel's high-water mark
 * (VmHWM, reset through /proc/self/clear_refs) and, as a cross-check, process.memoryUsage.rss()
 * sampled every 2 ms from a worker thread, which a busy main thread cannot delay.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";

const SELF = fileURLToPath(import.meta.url);
const MiB = 1024 * 1024;
/** maxMessageSizeKb for the streamed runs: below every size measured. */
const LOW_LIMIT_KB = 10 * 1024;
const USER = "alice";
const PASSWORD = "s3cret-Pa55";

type Mode = "parsed" | "streamed" | "peer";
interface Job { mode: Mode; mib: number; connectionString: string }
interface Measurement { mode: Mode; mib: number; idleMiB: number; hwmAboveIdleMiB: number | null; sampledAboveIdleMiB: number; ms: number; outcome: string }

/** A message of about `mib` MiB: a short text part and one base64 attachment (what large mail is). */
function largeMessage(mib: number, tag: string): Buffer {
  const head = [
    `Message-ID: <rss-${tag}@fabrikam.test>`, "From: sender@fabrikam.test", "To: support@contoso.test", `Subject: ${mib} MiB`,
    `Date: ${new Date().toUTCString()}`, "MIME-Version: 1.0", 'Content-Type: multipart/mixed; boundary="rss"', "",
    "--rss", "Content-Type: text/plain", "", "The attachment is large.", "--rss",
    'Content-Type: application/octet-stream; name="large.bin"', 'Content-Disposition: attachment; filename="large.bin"',
    "Content-Transfer-Encoding: base64", "", "",
  ].join("\r\n");
  // 57 bytes make one 76-character base64 line, 78 bytes with its CRLF.
  const lines = Math.floor((mib * MiB - head.length - 16) / 78);
  const b64 = randomBytes(lines * 57).toString("base64");
  const body = Buffer.allocUnsafe(lines * 78);
  for (let i = 0; i < lines; i++) {
    body.write(b64.slice(i * 76, i * 76 + 76), i * 78, "latin1");
    body.write("\r\n", i * 78 + 76, "latin1");
  }
  return Buffer.concat([Buffer.from(head, "latin1"), body, Buffer.from("--rss--\r\n", "latin1")]);
}

// --- role "serve": the POP3 test server with one message, in its own process ---------------------
async function serve(mib: number): Promise<void> {
  const { Pop3TestServer } = await import("../test/support/pop3-server.js");
  const server = await Pop3TestServer.start({ messages: [largeMessage(mib, randomBytes(4).toString("hex"))], pipelining: true, userName: USER, password: PASSWORD });
  console.log(JSON.stringify({ port: server.port }));
  process.stdin.resume();
  process.stdin.on("end", () => void server.close().then(() => process.exit(0)));
}

async function startServer(mib: number): Promise<{ port: number; stop: () => void }> {
  const child = spawn(process.execPath, ["--import", "tsx", SELF, "serve", String(mib)], { stdio: ["pipe", "pipe", "inherit"] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`POP3 server exited (${code})`)));
  });
  return { port: (JSON.parse(line) as { port: number }).port, stop: () => child.stdin.end() };
}

// --- role "measure": one case in a fresh process -------------------------------------------------
const rss = (): number => process.memoryUsage.rss();
function resetHighWaterMark(): boolean {
  try { writeFileSync("/proc/self/clear_refs", "5"); return true; } catch { return false; }
}
const highWaterMark = (): number => Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? 0) * 1024;

/** Samples the process's RSS every 2 ms from a worker thread; stop() gives the highest seen. */
async function sampler(): Promise<{ stop: () => Promise<number> }> {
  const worker = new Worker(`
    const { parentPort } = require("node:worker_threads");
    let peak = 0;
    const t = setInterval(() => { const r = process.memoryUsage.rss(); if (r > peak) peak = r; }, 2);
    parentPort.on("message", (m) => { if (m === "reset") peak = 0; else { clearInterval(t); parentPort.postMessage(peak); } });
    parentPort.postMessage("ready");`, { eval: true });
  await new Promise((r) => worker.once("message", r));
  return {
    stop: async () => {
      worker.postMessage("stop");
      const peak = await new Promise<number>((r) => worker.once("message", r));
      await worker.terminate();
      return peak;
    },
  };
}

/** The peer: USER/PASS, RETR 1, bytes counted and dropped until the end marker, QUIT. */
async function plainDownload(port: number): Promise<string> {
  const socket = net.connect(port, "127.0.0.1");
  let pending = "";
  let bytes = 0;
  let tail = Buffer.alloc(0);
  let waiting: { end: string; resolve: () => void } | undefined;
  socket.on("data", (d: Buffer) => {
    if (waiting?.end === "\r\n.\r\n") {
      bytes += d.length;
      tail = Buffer.concat([tail, d.subarray(Math.max(0, d.length - 5))]).subarray(-5);
      if (tail.toString("latin1") === "\r\n.\r\n") { const w = waiting; waiting = undefined; w.resolve(); }
      return;
    }
    pending += d.toString("latin1");
    if (waiting && pending.includes(waiting.end)) { const w = waiting; waiting = undefined; pending = ""; w.resolve(); }
  });
  const expect = (end: string): Promise<void> => new Promise((resolve) => { waiting = { end, resolve }; });
  await expect("\r\n");
  for (const line of [`USER ${USER}`, `PASS ${PASSWORD}`]) {
    const reply = expect("\r\n");
    socket.write(`${line}\r\n`);
    await reply;
  }
  const done = expect("\r\n.\r\n");
  socket.write("RETR 1\r\n");
  await done;
  socket.end("QUIT\r\n");
  return `${(bytes / MiB).toFixed(1)} MiB read and dropped`;
}

async function measure(job: Job): Promise<Measurement> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run with node --expose-gc");
  const { loadAppSettings } = await import("../shared/config/appSettings.js");
  const { createServices } = await import("../shared/runtime/services.js");
  const { createLogger } = await import("../shared/runtime/logger.js");
  const { createProfile } = await import("../shared/admin/profiles.js");
  const { createMailbox } = await import("../shared/admin/mailboxes.js");
  const { pollMailbox } = await import("../shared/sync/incoming/pollMailbox.js");
  const { emailLookup } = await import("../shared/storage/emailStore.js");

  const server = await startServer(job.mib);
  try {
    let run: () => Promise<string>;
    if (job.mode === "peer") {
      run = () => plainDownload(server.port);
    } else {
      const services = await createServices(
        loadAppSettings({ AzureWebJobsStorage: job.connectionString, LOCAL_SECRETS_KEY: randomBytes(32).toString("base64") }),
        { log: createLogger({ level: "silent" }) },
      );
      const limitKb = job.mode === "parsed" ? job.mib * 1024 + 1024 : LOW_LIMIT_KB;
      await services.settings.update((s) => ({ ...s, maxMessageSizeKb: limitKb }), undefined, new Date());
      const tag = randomBytes(3).toString("hex");
      const profile = await createProfile(services, {
        name: `RSS ${tag}`, incoming: { host: "127.0.0.1", port: server.port, useSsl: false }, outgoing: { host: "127.0.0.1", port: 2525, useSsl: false },
        allowCredentialsOverInsecureChannels: true, minPollingIntervalMinutes: 0,
      });
      const created = await createMailbox(services, {
        owner: { type: "queue", id: `q-rss-${tag}` }, emailAddress: `rss-${tag}@contoso.test`, profileId: profile.doc.id,
        credentials: { userName: USER, password: PASSWORD }, incomingFilter: "all",
      });
      const id = (await services.repos.mailboxes.update(created.doc.id, (m) => ({ ...m, approval: "approved", incoming: { ...m.incoming, enabled: true, status: "success" } }))).doc.id;
      run = async () => {
        const r = await pollMailbox(services, id, {});
        const [emailId] = (await services.emails.lookupPage(emailLookup.mailbox(id), 10, undefined)).ids;
        const doc = emailId ? (await services.emails.get(emailId))?.doc : undefined;
        const activity = doc ? `${doc.status}${doc.error ? ` ${doc.error.code}` : ""}` : "no activity found";
        return r.status === "done" ? `${activity} (limit ${limitKb} KB)` : `poll ${r.status} ${"code" in r ? r.code : ""} (limit ${limitKb} KB)`;
      };
    }
    const sample = await sampler();
    gc();
    await new Promise((r) => setTimeout(r, 300));
    gc();
    const idle = rss();
    const hwm = resetHighWaterMark();
    const t0 = performance.now();
    const outcome = await run();
    const ms = performance.now() - t0;
    const sampled = await sample.stop();
    return {
      mode: job.mode, mib: job.mib, idleMiB: idle / MiB, ms, outcome,
      hwmAboveIdleMiB: hwm ? (highWaterMark() - idle) / MiB : null, sampledAboveIdleMiB: (sampled - idle) / MiB,
    };
  } finally {
    server.stop();
  }
}

// --- role "orchestrate" (the default) -------------------------------------------------------------
async function orchestrate(): Promise<void> {
  const sizes = (process.argv[2] ?? "25,100").split(",").map(Number);
  const rounds = Number(process.argv[3] ?? 1);
  const { startAzurite } = await import("../shared/runtime/azurite.js");
  const azurite = await startAzurite();
  const results: Measurement[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      for (const mib of sizes) {
        for (const mode of ["peer", "streamed", "parsed"] as const) {
          const job: Job = { mode, mib, connectionString: azurite.connectionString };
          const child = spawn(process.execPath, ["--expose-gc", "--import", "tsx", SELF, "measure", JSON.stringify(job)], { stdio: ["ignore", "pipe", "inherit"] });
          let out = "";
          child.stdout.on("data", (d: Buffer) => { out += d.toString(); });
          const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
          const last = out.trim().split("\n").pop() ?? "";
          if (code !== 0 || !last.startsWith("{")) throw new Error(`measure ${mode} ${mib} MiB exited ${code}: ${out.slice(-500)}`);
          const m = JSON.parse(last) as Measurement;
          results.push(m);
          process.stderr.write(`${mib} MiB ${mode}: ${m.hwmAboveIdleMiB?.toFixed(1) ?? "-"} MiB above idle (sampled ${m.sampledAboveIdleMiB.toFixed(1)}), idle ${m.idleMiB.toFixed(0)} MiB, ${m.ms.toFixed(0)} ms, ${m.outcome}\n`);
        }
      }
    }
  } finally {
    await azurite.stop();
  }
  const f = (x: number | null): string => (x === null ? "-" : x.toFixed(1));
  console.log(`\nPeak RSS above idle while one poll fetches one message, ${rounds} round(s), ${new Date().toISOString().slice(0, 10)}\n`);
  console.log("| message | run | peak above idle, MiB (VmHWM) | sampled every 2 ms, MiB | idle RSS, MiB | ms | outcome |");
  console.log("| --- | --- | --- | --- | --- | --- | --- |");
  for (const m of results) {
    const run = m.mode === "peer" ? "peer: plain socket RETR, bytes dropped" : m.mode === "parsed" ? "under maxMessageSizeKb (parsed)" : "over maxMessageSizeKb (streamed)";
    console.log(`| ${m.mib} MiB | ${run} | ${f(m.hwmAboveIdleMiB)} | ${f(m.sampledAboveIdleMiB)} | ${m.idleMiB.toFixed(0)} | ${m.ms.toFixed(0)} | ${m.outcome} |`);
  }
}

const role = process.argv[2];
if (role === "serve") await serve(Number(process.argv[3]));
else if (role === "measure") { console.log(JSON.stringify(await measure(JSON.parse(process.argv[3] ?? "{}") as Job))); process.exit(0); }
else await orchestrate();
