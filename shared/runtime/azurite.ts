/**
 * @module Starts Azurite (from node_modules) as a child process: in-memory, telemetry off, on the
 * ports given or on free ones. Used by `npm start` (embedded storage), the tests and the benches.
 * Versions before 3.36.0 get upstream's indexed-lookup fix preloaded (SELECTIVE_FIRST_PRELOAD).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface AzuriteInstance {
  blobPort: number;
  queuePort: number;
  tablePort: number;
  connectionString: string;
  stop(): Promise<void>;
}

const ACCOUNT = "devstoreaccount1";
const KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export function connectionStringFor(blobPort: number, queuePort: number, tablePort: number): string {
  const h = "http://127.0.0.1";
  return (
    `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${KEY};` +
    `BlobEndpoint=${h}:${blobPort}/${ACCOUNT};QueueEndpoint=${h}:${queuePort}/${ACCOUNT};TableEndpoint=${h}:${tablePort}/${ACCOUNT};`
  );
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`Azurite exited early with code ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1");
      s.once("connect", () => { s.destroy(); resolve(true); });
      s.once("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Azurite did not listen on port ${port} within ${timeoutMs} ms`);
}

/**
 * Azurite before 3.36.0 finds a table entity with LokiJS `findOne({ PartitionKey, RowKey })` (a blob
 * with `{ accountName, containerName, name, ... }`), and LokiJS answers only the first property from
 * an index: every point read, insert and upsert then walks every row of the entity's partition (every
 * blob of the account), so Azurite's CPU per request grew with the store (issue 15, bench:growth;
 * docs/benchmarks.md, "Storage growth"). Azurite 3.36.0 puts the selective property first, which
 * LokiJS answers from its index (Azure/Azurite#2588), but requires Node 21+; on older versions the
 * same reordering is preloaded into the emulator (an implicit `$and` means the same in any order).
 * Newer versions are started untouched.
 */
const SELECTIVE_FIRST_PRELOAD = `"use strict";
const path = require("node:path");
try {
  const Loki = require(require.resolve("lokijs", { paths: [path.dirname(process.argv[1])] }));
  const findOne = Loki.Collection && Loki.Collection.prototype.findOne;
  const SELECTIVE = ["RowKey", "name", "blobName", "messageId"];
  if (typeof findOne === "function") {
    Loki.Collection.prototype.findOne = function (query) {
      if (query && typeof query === "object" && !Array.isArray(query) && this.binaryIndices) {
        const keys = Object.keys(query);
        if (keys.length > 1 && !SELECTIVE.includes(keys[0])) {
          const first = SELECTIVE.find((k) => typeof query[k] === "string" && this.binaryIndices[k]);
          if (first) query = { [first]: query[first], ...query };
        }
      }
      return findOne.call(this, query);
    };
  }
} catch { /* another layout of Azurite or LokiJS: run it as it is */ }
`;

/** Whether this Azurite looks entities and blobs up by their least selective property first (before 3.36.0, see SELECTIVE_FIRST_PRELOAD). */
export function needsSelectiveFirst(version: string): boolean {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  return major < 3 || (major === 3 && minor < 36);
}

export async function startAzurite(ports?: { blob: number; queue: number; table: number }): Promise<AzuriteInstance> {
  const blobPort = ports?.blob ?? (await freePort());
  const queuePort = ports?.queue ?? (await freePort());
  const tablePort = ports?.table ?? (await freePort());
  const require = createRequire(import.meta.url);
  const pkg = require.resolve("azurite/package.json");
  const bin = join(pkg, "..", "dist", "src", "azurite.js");
  // In-memory still writes a small file into its working directory; keep it out of the repo.
  const location = mkdtempSync(join(tmpdir(), "azurite-"));
  const preload: string[] = [];
  const { version } = JSON.parse(readFileSync(pkg, "utf8")) as { version?: string };
  if (needsSelectiveFirst(version ?? "")) {
    const file = join(location, "selective-first.cjs");
    writeFileSync(file, SELECTIVE_FIRST_PRELOAD);
    preload.push("--require", file);
  }
  const child = spawn(
    process.execPath,
    [...preload, bin, "--inMemoryPersistence", "--disableTelemetry", "--silent", "--skipApiVersionCheck", "--loose",
      "--blobPort", String(blobPort), "--queuePort", String(queuePort), "--tablePort", String(tablePort)],
    { stdio: ["ignore", "ignore", "pipe"], cwd: location },
  );
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => { stderr += d.toString(); });
  try {
    await Promise.all([blobPort, queuePort, tablePort].map((p) => waitForPort(p, child, 30_000)));
  } catch (err) {
    child.kill("SIGKILL");
    throw new Error(`${(err as Error).message}\n${stderr}`);
  }
  return {
    blobPort, queuePort, tablePort,
    connectionString: connectionStringFor(blobPort, queuePort, tablePort),
    stop: () =>
      new Promise<void>((resolve) => {
        const done = (): void => { rmSync(location, { recursive: true, force: true }); resolve(); };
        if (child.exitCode !== null) return done();
        child.once("exit", done);
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 3000).unref();
      }),
  };
}
