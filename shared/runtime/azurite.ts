/**
 * @module Starts Azurite (from node_modules) as a child process: in-memory, telemetry off, on the
 * ports given or on free ones. Used by `npm start` (embedded storage) and by the tests.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { mkdtempSync, rmSync } from "node:fs";
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

export async function startAzurite(ports?: { blob: number; queue: number; table: number }): Promise<AzuriteInstance> {
  const blobPort = ports?.blob ?? (await freePort());
  const queuePort = ports?.queue ?? (await freePort());
  const tablePort = ports?.table ?? (await freePort());
  const require = createRequire(import.meta.url);
  const bin = join(require.resolve("azurite/package.json"), "..", "dist", "src", "azurite.js");
  // In-memory still writes a small file into its working directory; keep it out of the repo.
  const location = mkdtempSync(join(tmpdir(), "azurite-"));
  const child = spawn(
    process.execPath,
    [bin, "--inMemoryPersistence", "--disableTelemetry", "--silent", "--skipApiVersionCheck", "--loose",
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
