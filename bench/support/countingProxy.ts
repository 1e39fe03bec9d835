/**
 * Small HTTP proxies in front of Azurite's three services that count the requests the app makes:
 * Storage is billed per request, and a Table partition's throughput is counted in them.
 */
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export type Service = "blob" | "queue" | "table";

export interface CountingProxies {
  counts: Record<Service, number>;
  ports: Record<Service, number>;
  close(): Promise<void>;
}

async function proxy(service: Service, targetPort: number, counts: Record<Service, number>): Promise<{ port: number; server: Server }> {
  const server = createServer((req, res) => {
    counts[service]++;
    const upstream = request({ host: "127.0.0.1", port: targetPort, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as AddressInfo).port, server };
}

/** Counts into `counts` (a fresh object when not given). */
export async function startCountingProxies(
  target: { blobPort: number; queuePort: number; tablePort: number },
  counts: Record<Service, number> = { blob: 0, queue: 0, table: 0 },
): Promise<CountingProxies> {
  const [blob, queue, table] = await Promise.all([proxy("blob", target.blobPort, counts), proxy("queue", target.queuePort, counts), proxy("table", target.tablePort, counts)]);
  return {
    counts,
    ports: { blob: blob.port, queue: queue.port, table: table.port },
    close: async () => {
      for (const p of [blob, queue, table]) await new Promise<void>((resolve) => p.server.close(() => resolve()));
    },
  };
}
