/**
 * @module Three small HTTP proxies (blob, queue, table) in front of one Azurite, owned by the
 * parent, one set per child process. Once armed they number the child's Storage requests in
 * arrival order and, at request N, do one of:
 *   killBefore  SIGKILL the child; the request never reaches Azurite.
 *   killAfter   forward it, wait for Azurite's whole answer (the write landed), then SIGKILL the
 *               child before the answer reaches it.
 *   refuse      answer 403 AuthorizationFailure without forwarding; the child keeps running.
 *   failAfter   forward it (the write landed), then answer the child 403 instead of Azurite's reply.
 * 403 is the failure chosen for the two "throw" variants because neither SDK retries it: the
 * table SDK's pipeline retries 408 and 5xx (but 501/505) and socket errors, the blob and queue
 * SDKs' StorageRetryPolicy retries 500, 503 and socket errors, so a 503 or a reset connection
 * at request N would be retried into a success and never reach the app.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { connectionStringFor } from "../../shared/runtime/azurite.js";

export const STORAGE_MODES = ["killBefore", "killAfter", "refuse", "failAfter"] as const;
export type StorageMode = (typeof STORAGE_MODES)[number];
type Service = "blob" | "queue" | "table";

export interface StoragePlan {
  at: number;
  mode: StorageMode;
}

export class StorageCrashProxies {
  /** Requests counted since `arm`, as "table GET /devstoreaccount1/...". */
  readonly requests: string[] = [];
  /** What happened at the planned request, once it came. */
  fired: string | undefined;
  private armed = false;
  private plan: StoragePlan | undefined;
  private inflight = 0;
  private idleWaiters: (() => void)[] = [];
  private servers: Server[] = [];
  private ports: number[] = [];

  private constructor(private readonly kill: () => void) {}

  static async start(upstream: { blobPort: number; queuePort: number; tablePort: number }, kill: () => void): Promise<StorageCrashProxies> {
    const p = new StorageCrashProxies(kill);
    for (const [service, port] of [["blob", upstream.blobPort], ["queue", upstream.queuePort], ["table", upstream.tablePort]] as const) {
      const server = createServer((req, res) => p.handle(service, port, req, res));
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      p.servers.push(server);
      p.ports.push((server.address() as AddressInfo).port);
    }
    return p;
  }

  get connectionString(): string {
    const [blob = 0, queue = 0, table = 0] = this.ports;
    return connectionStringFor(blob, queue, table);
  }

  /** Counts from now on; with a plan, acts at its request. */
  arm(plan: StoragePlan | undefined): void {
    this.armed = true;
    this.plan = plan;
  }

  disarm(): void {
    this.armed = false;
    this.plan = undefined;
  }

  /** Resolves when no forwarded request is still on its way to or from Azurite. */
  idle(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => { s.closeAllConnections(); s.close(() => resolve()); })));
  }

  private handle(service: Service, port: number, req: IncomingMessage, res: ServerResponse): void {
    if (req.socket.listenerCount("error") === 0) req.socket.on("error", () => undefined);
    let action: StorageMode | undefined;
    if (this.armed) {
      const n = this.requests.push(`${service} ${req.method ?? "?"} ${(req.url ?? "").split("?")[0] ?? ""}`);
      if (this.plan?.at === n) {
        action = this.plan.mode;
        this.fired = `${action} at #${n}: ${this.requests[n - 1] ?? ""}`;
        this.disarm();
      }
    }
    if (action === "killBefore") {
      this.kill();
      req.socket.destroy();
      return;
    }
    if (action === "refuse") {
      req.resume();
      req.on("end", () => refuse(service, req, res));
      return;
    }
    this.forward(service, port, req, res, action);
  }

  private forward(service: Service, port: number, req: IncomingMessage, res: ServerResponse, action: StorageMode | undefined): void {
    this.inflight++;
    const done = (): void => {
      if (--this.inflight === 0) for (const w of this.idleWaiters.splice(0)) w();
    };
    const upstream = request({ host: "127.0.0.1", port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      const chunks: Buffer[] = [];
      up.on("data", (c: Buffer) => chunks.push(c));
      up.on("end", () => {
        if (action === "killAfter") {
          this.kill();
          res.socket?.destroy();
        } else if (action === "failAfter") {
          refuse(service, req, res);
        } else {
          res.writeHead(up.statusCode ?? 502, up.headers);
          res.end(Buffer.concat(chunks));
        }
        done();
      });
      up.on("error", () => { res.destroy(); done(); });
    });
    upstream.on("error", () => { res.destroy(); done(); });
    req.pipe(upstream);
  }
}

/** The table service answers JSON, blob and queue XML; the SDKs read the code from either. */
function refuse(service: Service, req: IncomingMessage, res: ServerResponse): void {
  const message = "Injected by the crash test: this request is not authorized.";
  const headers = { "x-ms-error-code": "AuthorizationFailure", "x-ms-request-id": "crash-test" };
  if (req.method === "HEAD") {
    res.writeHead(403, headers);
    res.end();
  } else if (service === "table") {
    res.writeHead(403, { ...headers, "content-type": "application/json;odata=minimalmetadata" });
    res.end(JSON.stringify({ "odata.error": { code: "AuthorizationFailure", message: { lang: "en-US", value: message } } }));
  } else {
    res.writeHead(403, { ...headers, "content-type": "application/xml" });
    res.end(`<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthorizationFailure</Code><Message>${message}</Message></Error>`);
  }
}
