/**
 * Benchmark: the admin HTTP API under load (issue 10). The dev host over real sockets on loopback,
 * Azurite behind it, the real function definitions. Each autocannon connection cycles through
 * list (GET /api/mailboxes?top=50), get (GET /api/mailboxes/{id}), create (POST /api/mailboxes,
 * a new owner and address each time) and PATCH (PATCH /api/mailboxes/{id}) for the given seconds.
 * Before that, the same mix one request at a time gives the unloaded p50 the loaded p99 is
 * compared with. Bounded: a fixed number of connections, loopback only.
 *   npm run bench:http -- [seconds=60] [connections=16]
 * Fails (exit 1) on any transport error, timeout or 5xx; a 4xx other than what the mix expects
 * (none) fails too.
 */
import { createRequire } from "node:module";
import { startTestApp, ADMIN_KEY, type TestApp } from "../test/support/app.js";

const SECONDS = Number(process.argv[2] ?? 60);
const CONNECTIONS = Number(process.argv[3] ?? 16);
const SEEDED = 50;
const UNLOADED_SECONDS = 5;

interface Histogram { p50: number; p90: number; p99: number; max: number; average: number }
interface Result {
  requests: { total: number; average: number };
  latency: Histogram;
  errors: number;
  timeouts: number;
  non2xx: number;
  "5xx": number;
  statusCodeStats: Record<string, { count: number }>;
}
interface RequestSpec {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (req: RequestSpec) => RequestSpec;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<Result>;
// autocannon ships no types; this is the part of its API used here.
const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

let counter = 0;
function mix(ids: string[]): RequestSpec[] {
  const pick = (): string => ids[counter++ % ids.length] ?? "";
  const headers = { "x-functions-key": ADMIN_KEY, "content-type": "application/json" };
  return [
    { method: "GET", path: "/api/mailboxes?top=50", headers },
    { method: "GET", path: "/api/mailboxes/x", headers, setupRequest: (r) => ({ ...r, path: `/api/mailboxes/${pick()}` }) },
    {
      method: "POST", path: "/api/mailboxes", headers, setupRequest: (r) => {
        const n = counter++;
        return { ...r, body: JSON.stringify({ owner: { type: "user", id: `load-${process.pid}-${n}` }, emailAddress: `load-${n}@contoso.test` }) };
      },
    },
    {
      method: "PATCH", path: "/api/mailboxes/x", headers, setupRequest: (r) => ({
        ...r, path: `/api/mailboxes/${pick()}`, body: JSON.stringify({ incomingFilter: counter % 2 === 0 ? "all" : "responsesToTracked" }),
      }),
    },
  ];
}

async function seed(app: TestApp): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < SEEDED; i++) {
    const m = await app.call("POST", "/api/mailboxes", { body: { owner: { type: "queue", id: `seed-${i}` }, emailAddress: `seed-${i}@contoso.test` } });
    if (m.status !== 201) throw new Error(`seed: ${m.text}`);
    ids.push((m.body as { id: string }).id);
  }
  return ids;
}

function summary(name: string, r: Result): string {
  const codes = Object.entries(r.statusCodeStats).map(([c, s]) => `${c}: ${s.count}`).join(", ");
  return `${name}: ${r.requests.total} requests (${r.requests.average.toFixed(0)}/s), latency p50 ${r.latency.p50} ms, ` +
    `p90 ${r.latency.p90} ms, p99 ${r.latency.p99} ms, max ${r.latency.max} ms; errors ${r.errors}, timeouts ${r.timeouts}, ` +
    `non-2xx ${r.non2xx}, 5xx ${r["5xx"]}; status ${codes}`;
}

async function main(): Promise<void> {
  const app = await startTestApp();
  try {
    const ids = await seed(app);
    const base = { url: app.url, requests: mix(ids), timeout: 30 };
    const unloaded = await autocannon({ ...base, connections: 1, duration: UNLOADED_SECONDS });
    console.log(summary(`unloaded (1 connection, ${UNLOADED_SECONDS} s)`, unloaded));
    const loaded = await autocannon({ ...base, connections: CONNECTIONS, duration: SECONDS });
    console.log(summary(`loaded (${CONNECTIONS} connections, ${SECONDS} s)`, loaded));
    const ratio = loaded.latency.p99 / Math.max(unloaded.latency.p50, 1);
    console.log(`\n| connections | seconds | requests | req/s | unloaded p50 | loaded p50 | loaded p99 | p99 / unloaded p50 | errors | 5xx |`);
    console.log(`| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`);
    console.log(`| ${CONNECTIONS} | ${SECONDS} | ${loaded.requests.total} | ${loaded.requests.average.toFixed(0)} | ${unloaded.latency.p50} ms | ` +
      `${loaded.latency.p50} ms | ${loaded.latency.p99} ms | ${ratio.toFixed(1)}x | ${loaded.errors + loaded.timeouts} | ${loaded["5xx"]} |`);
    const bad = [unloaded, loaded].some((r) => r.errors > 0 || r.timeouts > 0 || r.non2xx > 0);
    if (bad) {
      console.error("FAILED: errors, timeouts or non-2xx answers under load (see above)");
      process.exitCode = 1;
    }
  } finally {
    await app.stop();
  }
}

await main();
