/**
 * Small HTTP proxies in front of Azurite's three services that count the requests the app makes:
 * Storage is billed per request, and a Table partition's throughput is counted in them.
 * Optionally (bench:ingest, bench:growth) they also add a fixed latency to every request (what a
 * round trip to Azure Storage costs, which loopback Azurite does not), count requests by kind
 * (blob PUT, table point GET, table query, $batch, ...) and time Azurite's own answer to each
 * (from the request forwarded to the last byte of the answer, the added latency not included).
 */
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";

export type Service = "blob" | "queue" | "table";

/** What a request is, read off its method and path. */
export type Kind =
  | "blobPut" // Put Blob, Put Block, Put Block List (not leases)
  | "blobGet" // GET or HEAD of a blob or its properties
  | "blobOther" // DELETE, leases, container operations
  | "tableGet" // point read: GET table(PartitionKey='..',RowKey='..')
  | "tableQuery" // GET table() with or without $filter
  | "tableBatch" // POST $batch (entity group transaction)
  | "tableUpsert" // PUT, MERGE or PATCH of one entity (insert-or-replace, update, merge)
  | "tableInsert" // POST of one entity to the table
  | "tableDelete" // DELETE of one entity
  | "tableOther" // table management (create, list tables)
  | "queue"; // any queue request

export const KINDS: readonly Kind[] = [
  "blobPut", "blobGet", "blobOther", "tableGet", "tableQuery", "tableBatch", "tableUpsert", "tableInsert", "tableDelete", "tableOther", "queue",
];

export type KindCounts = Record<Kind, number>;

export const noKinds = (): KindCounts => Object.fromEntries(KINDS.map((k) => [k, 0])) as KindCounts;

export function kindOf(service: Service, method: string, url: string): Kind {
  if (service === "queue") return "queue";
  const path = (url.split("?")[0] ?? "").replace(/^\/[^/]+/, ""); // drop the account segment
  const query = url.includes("?") ? url.slice(url.indexOf("?")) : "";
  if (service === "blob") {
    if (/[?&]comp=lease/.test(query)) return "blobOther";
    if (method === "PUT") return /^\/[^/]+\/.+/.test(decodeURIComponent(path)) ? "blobPut" : "blobOther";
    if (method === "GET" || method === "HEAD") return "blobGet";
    return "blobOther";
  }
  if (path === "/$batch" || path.endsWith("/$batch")) return "tableBatch";
  if (/^\/Tables(\(|$|\?)/.test(path)) return "tableOther";
  const entity = /^\/[^/(]+\((.*)\)$/.exec(decodeURIComponent(path));
  if (entity) {
    const keyed = /PartitionKey=/.test(entity[1] ?? "");
    if (method === "GET") return keyed ? "tableGet" : "tableQuery";
    if (method === "PUT" || method === "MERGE" || method === "PATCH") return "tableUpsert";
    if (method === "DELETE") return "tableDelete";
    return "tableOther";
  }
  if (method === "POST") return "tableInsert";
  if (method === "GET") return "tableQuery";
  return "tableOther";
}

/** Azurite's time per answer, by kind (ms summed, and how many). */
export type Timings = Record<Kind, { n: number; ms: number }>;
export const noTimings = (): Timings => Object.fromEntries(KINDS.map((k) => [k, { n: 0, ms: 0 }])) as Timings;

export interface ProxyOptions {
  /** Added to every request before it is forwarded (ms); change it later with setLatency. */
  latencyMs?: number;
  /**
   * Also time requests by kind and target (bench:growth): "tableGet emails", "blobPut raw",
   * "tableBatch emails [POST,PUT]" (a $batch's table and operations read from its body), in `byTarget`;
   * `ops` counts the operations (a $batch's sub-requests, 1 otherwise).
   */
  byTarget?: boolean;
}

/** A request's target: the table or container it names ($batch: read from its body, with the operations' methods). */
export function targetOf(service: Service, kind: Kind, url: string, body?: string): string {
  if (service === "queue") return (url.split("?")[0] ?? "").split("/")[2] ?? "";
  if (kind === "tableBatch" && body !== undefined) {
    const ops = [...body.matchAll(/^(GET|POST|PUT|MERGE|PATCH|DELETE) https?:\/\/[^/\s]+\/[^/\s]+\/([A-Za-z0-9]+)/gm)];
    const tables = [...new Set(ops.map((m) => m[2]))].join(",");
    const methods = [...new Set(ops.map((m) => m[1]))].sort().join(",");
    return `${tables} [${methods}]`;
  }
  const seg = decodeURIComponent((url.split("?")[0] ?? "").split("/")[2] ?? "");
  return service === "table" ? seg.replace(/\(.*$/, "") : seg;
}

export interface CountingProxies {
  counts: Record<Service, number>;
  kinds: KindCounts;
  timings: Timings;
  /** With options.byTarget: timings by "kind target" (see ProxyOptions.byTarget); otherwise empty. */
  byTarget: Record<string, TargetTiming>;
  ports: Record<Service, number>;
  setLatency(ms: number): void;
  close(): Promise<void>;
}

interface State {
  latencyMs: number;
  kinds: KindCounts;
  timings: Timings;
  byTarget?: Record<string, TargetTiming>;
}

/** Requests to one kind and target: how many, Azurite's time summed, and their operations ($batch sub-requests). */
export interface TargetTiming { n: number; ms: number; ops: number }

/** How many operations a $batch body holds (1 for any other request). */
export function opsOf(kind: Kind, body?: string): number {
  if (kind !== "tableBatch" || body === undefined) return 1;
  return [...body.matchAll(/^(GET|POST|PUT|MERGE|PATCH|DELETE) https?:\/\//gm)].length;
}

async function proxy(service: Service, targetPort: number, counts: Record<Service, number>, state: State): Promise<{ port: number; server: Server }> {
  const server = createServer((req, res) => {
    counts[service]++;
    const kind = kindOf(service, req.method ?? "GET", req.url ?? "/");
    state.kinds[kind]++;
    const forward = (): void => {
      const t = performance.now();
      let body: string | undefined;
      if (state.byTarget && kind === "tableBatch") {
        body = "";
        req.on("data", (d: Buffer) => { if (body !== undefined && body.length < 1 << 20) body += d.toString("latin1"); });
      }
      const upstream = request({ host: "127.0.0.1", port: targetPort, method: req.method, path: req.url, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.on("end", () => {
          const timing = state.timings[kind];
          timing.n++;
          timing.ms += performance.now() - t;
          if (state.byTarget) {
            const k = `${kind} ${targetOf(service, kind, req.url ?? "/", body)}`;
            const bt = (state.byTarget[k] ??= { n: 0, ms: 0, ops: 0 });
            bt.n++;
            bt.ops += opsOf(kind, body);
            bt.ms += performance.now() - t;
          }
        });
        up.pipe(res);
      });
      upstream.on("error", () => res.destroy());
      req.pipe(upstream);
    };
    if (state.latencyMs > 0) {
      // The body waits in the request stream (paused until piped), so the delay covers the whole request.
      req.pause();
      setTimeout(forward, state.latencyMs);
    } else forward();
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as AddressInfo).port, server };
}

/** Counts into `counts` (a fresh object when not given). */
export async function startCountingProxies(
  target: { blobPort: number; queuePort: number; tablePort: number },
  counts: Record<Service, number> = { blob: 0, queue: 0, table: 0 },
  options: ProxyOptions = {},
): Promise<CountingProxies> {
  const state: State = { latencyMs: options.latencyMs ?? 0, kinds: noKinds(), timings: noTimings(), ...(options.byTarget ? { byTarget: {} } : {}) };
  const [blob, queue, table] = await Promise.all([
    proxy("blob", target.blobPort, counts, state), proxy("queue", target.queuePort, counts, state), proxy("table", target.tablePort, counts, state),
  ]);
  return {
    counts,
    kinds: state.kinds,
    timings: state.timings,
    byTarget: state.byTarget ?? {},
    ports: { blob: blob.port, queue: queue.port, table: table.port },
    setLatency: (ms) => { state.latencyMs = ms; },
    close: async () => {
      for (const p of [blob, queue, table]) {
        p.server.closeAllConnections();
        await new Promise<void>((resolve) => p.server.close(() => resolve()));
      }
    },
  };
}
