/**
 * The product's side of bench:ingest, in a process of its own (forked by bench/ingest.bench.ts with
 * an IPC channel), so that process.cpuUsage() and the peak RSS are the app's alone: the proxy,
 * Azurite, Dovecot and the other contenders are other processes.
 *
 * Driven as production drives it: services from shared/runtime/services.ts on a connection string
 * (the proxied Azurite), a profile and mailboxes made with the admin functions, then the body of the
 * queue function `mailboxIncoming`, pollMailbox(services, mailboxId), run again for each mailbox
 * while it answers `more: true` (a run takes at most 500 messages and queues its continuation),
 * with at most host.json's queue batchSize polls at once (what one instance runs concurrently).
 * Trust in the bench Dovecot's certificate comes from NODE_EXTRA_CA_CERTS, set by the parent.
 *
 * Exactness is checked afterwards through the HTTP API's own handlers (GET /api/emails?mailboxId=
 * and GET /api/emails/{id}/raw), against Azurite directly: every delivered message must be there
 * once, with the same sha256 as the file Dovecot served.
 */
import { createHash, randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { Session } from "node:inspector/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import functions from "@azure/functions";
import { loadAppSettings } from "../../shared/config/appSettings.js";
import { createServices, setServices, type Services } from "../../shared/runtime/services.js";
import { createLogger } from "../../shared/runtime/logger.js";
import { benchProfile, enabledMailbox } from "./benchMailbox.js";
import { pollMailbox } from "../../shared/sync/incoming/pollMailbox.js";
import { emailReadRoutes } from "../../functions/emails.js";

export interface ProductJob {
  storage: string;
  direct: string;
  host: string;
  port: number;
  concurrency: number;
  mailboxes: { user: string; password: string; digests: string[] }[];
}

export interface ProductResult {
  messages: number;
  wallMs: number;
  cpuMs: number;
  idleRssMiB: number;
  peakRssMiB: number;
  polls: number;
  statuses: Record<string, number>;
  exact: { expected: number; found: number; lost: number; duplicated: number; mismatched: number; extra: number };
}

/** A V8 CPU profile of the measured window only (BENCH_CPU_PROF names the directory). */
async function startProfile(): Promise<{ stop(): Promise<void> }> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
  return {
    async stop() {
      const { profile } = await session.post("Profiler.stop");
      writeFileSync(join(process.env.BENCH_CPU_PROF ?? ".", `ingest-${process.pid}.cpuprofile`), JSON.stringify(profile));
      session.disconnect();
    },
  };
}

const job = JSON.parse(readFileSync(process.argv[2] ?? "", "utf8")) as ProductJob;
const API_KEY = `bench-${randomBytes(8).toString("hex")}`;

/** Asks the parent to take a snapshot (counts, Azurite CPU) and waits until it has. */
function mark(phase: string): Promise<void> {
  return new Promise((resolve) => {
    const onMessage = (m: unknown): void => {
      if ((m as { ack?: string }).ack === phase) { process.off("message", onMessage); resolve(); }
    };
    process.on("message", onMessage);
    process.send?.({ phase });
  });
}

function status(field: "VmHWM" | "VmRSS"): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync("/proc/self/status", "utf8"));
  return Number(m?.[1] ?? 0) / 1024;
}

async function servicesOn(connectionString: string): Promise<Services> {
  return createServices(
    loadAppSettings({ AzureWebJobsStorage: connectionString, LOCAL_SECRETS_KEY: randomBytes(32).toString("base64"), API_KEY, LOG_LEVEL: "silent" }),
    { log: createLogger({ level: "silent" }) },
  );
}

const route = (name: string): NonNullable<(typeof emailReadRoutes)[number]> => {
  const found = emailReadRoutes.find((r) => r.name === name);
  if (!found) throw new Error(`functions/emails.ts no longer has the route ${name}`);
  return found;
};
const listRoute = route("emailsList"), rawRoute = route("emailsRaw");

type Route = typeof listRoute;

async function call(route: Route, url: string, params: Record<string, string> = {}): Promise<{ json: unknown; bytes: Buffer }> {
  const res = await route.handler(new functions.HttpRequest({ method: "GET", url, headers: { "x-functions-key": API_KEY }, params }), new functions.InvocationContext());
  if ((res.status ?? 200) !== 200) throw new Error(`${url}: ${res.status} ${JSON.stringify(res.jsonBody ?? res.body)}`);
  const chunks: Buffer[] = [];
  const body = res.body as AsyncIterable<Uint8Array> | string | undefined;
  if (typeof body === "string") chunks.push(Buffer.from(body));
  else if (body) for await (const c of body) chunks.push(Buffer.from(c));
  return { json: res.jsonBody, bytes: Buffer.concat(chunks) };
}

async function verify(direct: Services, ids: string[]): Promise<ProductResult["exact"]> {
  setServices(direct);
  const exact = { expected: 0, found: 0, lost: 0, duplicated: 0, mismatched: 0, extra: 0 };
  for (const [i, mailboxId] of ids.entries()) {
    const want = new Map<string, number>();
    for (const d of job.mailboxes[i]?.digests ?? []) want.set(d, (want.get(d) ?? 0) + 1);
    exact.expected += job.mailboxes[i]?.digests.length ?? 0;
    const emailIds: string[] = [];
    let token: string | null = null;
    do {
      const q = `http://bench/api/emails?mailboxId=${mailboxId}&top=1000${token ? `&continuationToken=${encodeURIComponent(token)}` : ""}`;
      const page = (await call(listRoute, q)).json as { items: { id: string }[]; continuationToken: string | null };
      emailIds.push(...page.items.map((e) => e.id));
      token = page.continuationToken;
    } while (token);
    const got = new Map<string, number>();
    const queue = [...emailIds];
    await Promise.all(Array.from({ length: 16 }, async () => {
      for (let id = queue.shift(); id; id = queue.shift()) {
        const bytes = (await call(rawRoute, `http://bench/api/emails/${id}/raw`, { id })).bytes;
        const d = createHash("sha256").update(bytes).digest("hex");
        got.set(d, (got.get(d) ?? 0) + 1);
      }
    }));
    exact.found += emailIds.length;
    for (const [d, n] of want) {
      const g = got.get(d) ?? 0;
      if (g < n) exact.lost += n - g;
      if (g > n) exact.duplicated += g - n;
    }
    for (const [d, g] of got) if (!want.has(d)) exact.mismatched += g; // bytes that were never delivered
  }
  exact.extra = exact.found - exact.expected;
  return exact;
}

const services = await servicesOn(job.storage);
const profileId = await benchProfile(services, { tag: "ingest", host: job.host, port: job.port, useSsl: true, maxConcurrentConnections: Math.max(job.concurrency, 10) });
const ids: string[] = [];
for (const m of job.mailboxes) ids.push(await enabledMailbox(services, { tag: m.user, host: job.host, port: job.port, useSsl: true, userName: m.user, password: m.password, profileId }));
const direct = await servicesOn(job.direct);
global.gc?.();
const idleRssMiB = status("VmRSS");
try { writeFileSync("/proc/self/clear_refs", "5"); } catch { /* resets VmHWM; not everywhere */ }

await mark("start");
const profiler = process.env.BENCH_CPU_PROF ? await startProfile() : undefined;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const statuses: Record<string, number> = {};
let polls = 0;
let messages = 0;
const queue = [...ids];
await Promise.all(Array.from({ length: Math.min(job.concurrency, ids.length) }, async () => {
  for (let id = queue.shift(); id; id = queue.shift()) {
    for (let attempt = 0; ; attempt++) {
      const r = await pollMailbox(services, id);
      polls++;
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      if (r.status === "done") {
        messages += r.fetched;
        if (!r.more) break;
      } else if (r.status === "busy" || r.status === "throttled") await sleep(100);
      else throw new Error(`poll of ${id}: ${JSON.stringify(r)}`);
      if (attempt > 1000) throw new Error(`poll of ${id} never drained`);
    }
  }
}));
const wallMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const peakRssMiB = status("VmHWM");
await profiler?.stop();
await mark("end");

const exact = await verify(direct, ids);
const result: ProductResult = { messages, wallMs, cpuMs: (cpu.user + cpu.system) / 1000, idleRssMiB, peakRssMiB, polls, statuses, exact };
process.send?.({ result });
process.exit(0);
