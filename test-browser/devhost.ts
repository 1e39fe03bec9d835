/**
 * The dev host as an admin starts it (`node dist/devhost/start.js --devhost`, built by
 * `npm run test:browser`), with fresh in-memory Azurite on free ports, the mail sandbox and its demo
 * org, and a 5 s scheduler; plus a Chromium from Debian's package driven by playwright-core.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { freePort } from "../shared/runtime/azurite.js";
import { waitFor } from "../test/support/waitFor.js";

export const ADMIN_KEY = "browser-admin-key";
export const MASTER_KEY = "browser-master-key";
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export interface RunningHost {
  origin: string;
  api: string;
  demo: { alice: string; bob: string; support: string };
  output: () => string;
  call: (method: string, path: string, body?: unknown, key?: string) => Promise<{ status: number; json: any }>;
  stop: () => Promise<void>;
}

export async function startHost(): Promise<RunningHost> {
  if (!existsSync("dist/devhost/start.js") || !existsSync("dist/console/index.html")) {
    throw new Error("dist/ is not built: run the browser tier with npm run test:browser (it builds first)");
  }
  const dataDir = mkdtempSync(join(tmpdir(), "console-browser-"));
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const api = `${origin}/api`;
  let output = "";
  const child: ChildProcess = spawn(process.execPath, ["dist/devhost/start.js", "--devhost"], {
    cwd: process.cwd(), detached: true, stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env, PORT: String(port), LOG_LEVEL: "warn", API_KEY: ADMIN_KEY, API_MASTER_KEY: MASTER_KEY,
      AZURITE_BLOB_PORT: String(await freePort()), AZURITE_QUEUE_PORT: String(await freePort()), AZURITE_TABLE_PORT: String(await freePort()),
      SANDBOX_SMTP_PORT: "0", SANDBOX_POP3_PORT: "0", SANDBOX_DATA_DIR: dataDir, MAIL_SANDBOX: "",
      SCHEDULER_SCHEDULE: "*/5 * * * * *", NODE_EXTRA_CA_CERTS: "", EMAIL_SYNC_SANDBOX_CA: "",
      // As behind App Service Authentication: x-ms-client-principal counts (the tests send it as the platform would).
      WEBSITE_AUTH_ENABLED: "true",
    },
  });
  child.stdout?.on("data", (c: Buffer) => { output += c.toString("utf8"); });
  child.stderr?.on("data", (c: Buffer) => { output += c.toString("utf8"); });
  const stop = async (): Promise<void> => {
    if (child.pid !== undefined && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      process.kill(-child.pid, "SIGTERM");
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const seeded = await waitFor("the demo org banner", () => {
      if (child.exitCode !== null) throw new Error(`the dev host exited with ${child.exitCode}:\n${output}`);
      return Promise.resolve(/mailboxes alice (\S+), bob (\S+), support \(queue\) (\S+?);/.exec(output) ?? undefined);
    }, 170_000, 300);
    const call = async (method: string, path: string, body?: unknown, key = MASTER_KEY): Promise<{ status: number; json: any }> => {
      const res = await fetch(`${api}/${path}`, {
        method, headers: { "x-functions-key": key, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, json: text ? JSON.parse(text) : undefined };
    };
    return { origin, api, demo: { alice: seeded[1] as string, bob: seeded[2] as string, support: seeded[3] as string }, output: () => output, call, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  });
}
