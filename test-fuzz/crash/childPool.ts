/**
 * @module Children of test-fuzz/crash/child.ts, started ahead of need: starting Node with tsx and
 * the app's modules is the main cost of a crash point, so the next child warms up while the
 * current one runs. Each child gets its own Storage crash proxies.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { AzuriteInstance } from "../../shared/runtime/azurite.js";
import { StorageCrashProxies } from "./storageProxy.js";
import type { ChildReport, RunOrder } from "./child.js";

const SCRIPT = fileURLToPath(new URL("./child.ts", import.meta.url));
const BUNDLE = fileURLToPath(new URL("../../node_modules/.cache/crash-safety/child.mjs", import.meta.url));

/**
 * How a child is started. `node --import tsx child.ts` spends ~3 s of CPU loading the app's
 * modules through the loader hooks, which would be most of a crash point's cost; so by default
 * child.ts is bundled once with esbuild (tsx's own transpiler; npm packages stay external) and
 * each child runs the bundle, the same code in ~1 s. CRASH_CHILD=tsx starts children with tsx.
 */
export async function childCommand(): Promise<string[]> {
  if (process.env.CRASH_CHILD === "tsx") return ["--import", "tsx", SCRIPT];
  const esbuild = await import("esbuild");
  await esbuild.build({
    entryPoints: [SCRIPT], bundle: true, platform: "node", format: "esm", packages: "external", target: "node20",
    outfile: BUNDLE, logLevel: "warning",
  });
  return [BUNDLE];
}
/** A child that neither finishes nor dies within this long is a hang, reported as such. */
const RUN_TIMEOUT_MS = 20_000;

export interface RunOutcome {
  /** The child's result, or why there is none. */
  result: unknown;
  killed: boolean;
  error?: string;
}

export class AppChild {
  killed = false;
  private constructor(readonly process: ChildProcess, readonly proxies: StorageCrashProxies, private readonly ready: Promise<void>) {}

  static async start(azurite: AzuriteInstance, secretsKey: string, command: string[]): Promise<AppChild> {
    const holder: { child?: ChildProcess } = {};
    const proxies = await StorageCrashProxies.start(azurite, () => holder.child?.kill("SIGKILL"));
    const spawned = spawn(process.execPath, command, {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      env: { ...process.env, CRASH_STORAGE: proxies.connectionString, CRASH_SECRETS_KEY: secretsKey, LOG_LEVEL: "silent" },
    });
    holder.child = spawned;
    const ready = new Promise<void>((resolve, reject) => {
      spawned.once("message", (m: ChildReport) => ("ready" in m ? resolve() : reject(new Error(JSON.stringify(m)))));
      spawned.once("exit", (code) => reject(new Error(`crash-test child exited during start-up (${code})`)));
    });
    ready.catch(() => undefined);
    const app = new AppChild(spawned, proxies, ready);
    const kill = spawned.kill.bind(spawned);
    spawned.kill = (signal) => { app.killed = true; return kill(signal); };
    return app;
  }

  /**
   * Once the child is ready, calls `arm` (crash points count from here, after start-up), sends
   * the order and waits for the child to exit, killed or not.
   */
  async run(order: RunOrder, arm: () => void): Promise<RunOutcome> {
    await this.ready;
    arm();
    const child = this.process;
    const outcome: RunOutcome = { result: undefined, killed: false };
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.on("message", (m: ChildReport) => {
      if ("result" in m) outcome.result = m.result;
      if ("error" in m) outcome.error = m.error;
    });
    const timer = setTimeout(() => { outcome.error = "hung: no result in time"; child.kill("SIGKILL"); }, RUN_TIMEOUT_MS);
    child.send(order);
    await exited;
    clearTimeout(timer);
    outcome.killed = this.killed;
    this.proxies.disarm();
    await this.proxies.idle();
    await this.proxies.close();
    return outcome;
  }

  async discard(): Promise<void> {
    if (this.process.exitCode === null) {
      const exited = new Promise<void>((resolve) => this.process.once("exit", () => resolve()));
      this.process.kill("SIGKILL");
      await exited;
    }
    await this.proxies.close();
  }
}

/** Keeps `size` children warming up; `take` hands out the oldest and starts a replacement. */
export class ChildPool {
  private readonly warm: Promise<AppChild>[] = [];

  constructor(private readonly azurite: AzuriteInstance, private readonly secretsKey: string, private readonly command: string[], size = 2) {
    for (let i = 0; i < size; i++) this.warm.push(this.spawn());
  }

  take(): Promise<AppChild> {
    const next = this.warm.shift() ?? this.spawn();
    this.warm.push(this.spawn());
    return next;
  }

  async close(): Promise<void> {
    const children = await Promise.allSettled(this.warm.splice(0));
    for (const c of children) if (c.status === "fulfilled") await c.value.discard();
  }

  private spawn(): Promise<AppChild> {
    const child = AppChild.start(this.azurite, this.secretsKey, this.command);
    child.catch(() => undefined);
    return child;
  }
}
