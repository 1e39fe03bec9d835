/**
 * @module What `npm start` does, minus the process wiring in start.ts: settings (environment, then
 * local.settings.json, created on first run), validation, embedded Azurite for
 * `UseDevelopmentStorage=true`, then `func start` when Core Tools is on the PATH, else the dev host.
 */
import { spawn } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { createServer } from "node:net";
import { delimiter, join } from "node:path";
import { isAppError } from "../shared/errors.js";
import { loadAppSettings, storageTarget, usesDevelopmentStorage, type AppSettings } from "../shared/config/appSettings.js";
import { startAzurite, type AzuriteInstance } from "../shared/runtime/azurite.js";
import type { FunctionDefinition } from "../shared/runtime/functionDefinitions.js";
import { startDevHost } from "./host.js";
import type { DevHostLog } from "./invocation.js";
import { applyToEnv, ensureLocalSettings, mergeSettings } from "./localSettings.js";
import { readSandboxConfig } from "./sandbox/config.js";
import type { Sandbox } from "./sandbox/sandbox.js";

/** The ports `UseDevelopmentStorage=true` means. */
export const DEV_STORAGE_PORTS = { blob: 10000, queue: 10001, table: 10002 } as const;

/** A reason not to start, meant for the person at the terminal; start.ts prints it and exits 1. */
export class StartupError extends Error {}

export interface StartOptions {
  /** Project root: local.settings.json, host.json. */
  root: string;
  argv: string[];
  /** Settings are merged into this (process.env by default) so the app's code sees them. */
  env?: Record<string, string | undefined>;
  loadDefinitions: () => Promise<FunctionDefinition[]>;
  print?: (line: string) => void;
  log?: DevHostLog;
  /** What an unset MAIL_SANDBOX means: on for `npm start` (start.ts), off for callers that do not say. */
  sandboxByDefault?: boolean;
}

export interface Started {
  mode: "devhost" | "func";
  /** Resolves with the exit code when `func` exits by itself; never for the dev host. */
  exited: Promise<number>;
  stop(): Promise<void>;
}

export async function runStart(options: StartOptions): Promise<Started> {
  const env = options.env ?? process.env;
  const print = options.print ?? ((line: string) => console.log(line));
  let local;
  try {
    local = ensureLocalSettings(options.root);
  } catch (err) {
    throw new StartupError((err as Error).message);
  }
  if (local.created) print(`Created ${local.path} from the sample, with a new LOCAL_SECRETS_KEY.`);
  else if (local.generatedKey) print(`Generated LOCAL_SECRETS_KEY into ${local.path}.`);

  const merged = mergeSettings(env, local.values);
  let settings: AppSettings;
  try {
    settings = loadAppSettings(merged);
  } catch (err) {
    if (!isAppError(err) || err.code !== "CONFIGURATION_INVALID") throw err;
    const lines = err.details.map((d) => `  ${d.path}: ${d.message}`);
    throw new StartupError(`Cannot start: invalid app settings (from the environment, then ${local.path}):\n${lines.join("\n")}`);
  }
  const sandboxRead = readSandboxConfig(merged, options.root, options.sandboxByDefault ?? false);
  if (!sandboxRead.ok) throw new StartupError(`Cannot start: invalid sandbox settings:\n${sandboxRead.problems.map((p) => `  ${p}`).join("\n")}`);
  const sandboxConfig = sandboxRead.config;
  // Defaults the app relies on (`%SCHEDULER_SCHEDULE%` must resolve under either host).
  merged.SCHEDULER_SCHEDULE ??= settings.SCHEDULER_SCHEDULE;
  applyToEnv(merged, env);

  let azurite: AzuriteInstance | undefined;
  let sandbox: Sandbox | undefined;
  if (usesDevelopmentStorage(settings)) {
    azurite = await startEmbeddedAzurite(storagePorts(merged));
    // Same ports UseDevelopmentStorage=true means, spelled out for every SDK.
    env.AzureWebJobsStorage = merged.AzureWebJobsStorage = azurite.connectionString;
    print(`Azurite (in memory) on ports ${azurite.blobPort}, ${azurite.queuePort}, ${azurite.tablePort}.`);
  }
  const port = merged.PORT !== undefined ? settings.PORT : (local.localHttpPort ?? settings.PORT);

  try {
    const func = options.argv.includes("--devhost") ? undefined : findOnPath("func", env);
    if (func) {
      print(`Azure Functions Core Tools found (${func}): running func start.`);
      if (sandboxConfig.enabled) print("The mail sandbox runs in the dev host only: not started (npm start -- --devhost to have it).");
      const child = spawn(func, ["start", "--port", String(port)], {
        cwd: options.root, stdio: "inherit", env, shell: process.platform === "win32",
      });
      const exited = new Promise<number>((resolve) => {
        child.once("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
        child.once("error", (err) => { print(`func start failed: ${err.message}`); resolve(1); });
      });
      return {
        mode: "func",
        exited: exited.then(async (code) => { await azurite?.stop(); return code; }),
        stop: async () => {
          if (child.exitCode === null) child.kill("SIGTERM");
          await exited;
          await azurite?.stop();
        },
      };
    }

    const target = storageTarget(settings);
    const definitions = await options.loadDefinitions();
    // The sandbox and its route exist only here, in the dev host: never in functions/definitions.ts.
    // Loaded only when on: they need devDependencies (smtp-server, selfsigned) that MAIL_SANDBOX=off does not.
    const sandboxModules = sandboxConfig.enabled
      ? await Promise.all([import("./sandbox/sandbox.js"), import("./sandbox/messagesRoute.js"), import("./sandbox/announce.js")])
      : undefined;
    sandbox = sandboxModules ? await sandboxModules[0].startSandbox(sandboxConfig) : undefined;
    const served = sandbox && sandboxModules ? [...definitions, sandboxModules[1].sandboxMessagesRoute(sandbox.store)] : definitions;
    const host = await startDevHost({
      definitions: served,
      settings: merged,
      port,
      hostJsonPath: join(options.root, "host.json"),
      // The embedded Azurite's own string: its ports may not be the ones UseDevelopmentStorage=true means.
      ...(azurite ? { storageConnectionString: azurite.connectionString }
        : target.kind === "connectionString" ? { storageConnectionString: target.connectionString } : {}),
      ...(options.log ? { log: options.log } : {}),
    });
    const base = `http://localhost:${host.port}`;
    print(`Dev host listening on ${host.hostJson.routePrefix === "" ? base : `${base}/${host.hostJson.routePrefix}`}`);
    print(describeFunctions(served, base, host.hostJson.routePrefix, host.nextOccurrences()));
    const running = sandbox;
    if (running && sandboxModules) print(await sandboxModules[2].seedAndAnnounce({ apiUrl: host.apiUrl.replace("127.0.0.1", "localhost"), settings: merged, env, sandbox: running }));
    return {
      mode: "devhost",
      exited: new Promise<number>(() => undefined),
      stop: async () => {
        await host.stop();
        await running?.stop();
        await azurite?.stop();
      },
    };
  } catch (err) {
    await sandbox?.stop();
    await azurite?.stop();
    throw err;
  }
}

/** The function list Core Tools prints at start, in the same spirit. */
export function describeFunctions(defs: FunctionDefinition[], base: string, routePrefix: string, next: Record<string, Date>): string {
  const lines = defs.map((d) => {
    if (d.kind === "http") return `  ${d.name}: [${d.methods.join(",")}] ${base}/${routePrefix ? `${routePrefix}/` : ""}${d.route}`;
    if (d.kind === "timer") return `  ${d.name}: timerTrigger (${d.schedule}${next[d.name] ? `, next ${next[d.name]?.toISOString()}` : ""})`;
    return `  ${d.name}: queueTrigger (${d.queueName})`;
  });
  return `Functions:\n${lines.join("\n")}\n  (timer and queue functions run on demand: POST ${base}/admin/functions/{name} with the master key)`;
}

/** The first executable called `name` on PATH (with PATHEXT on Windows). */
export function findOnPath(name: string, env: Record<string, string | undefined>): string | undefined {
  const exts = process.platform === "win32" ? (env.PATHEXT ?? ".EXE;.CMD;.BAT").split(";") : [""];
  for (const dir of (env.PATH ?? env.Path ?? "").split(delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const candidate = join(dir, name + ext);
      try {
        accessSync(candidate, constants.X_OK);
        if (statSync(candidate).isFile()) return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

async function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(true));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(false)));
  });
}

/**
 * The embedded Azurite's ports: those UseDevelopmentStorage=true means, unless AZURITE_BLOB_PORT,
 * AZURITE_QUEUE_PORT or AZURITE_TABLE_PORT say otherwise (a second `npm start`, an end-to-end test).
 */
function storagePorts(settings: Record<string, string | undefined>): { blob: number; queue: number; table: number } {
  const pick = (name: string, fallback: number): number => {
    const v = settings[name]?.trim();
    if (!v) return fallback;
    if (!/^\d{1,5}$/.test(v) || Number(v) < 1 || Number(v) > 65535) throw new StartupError(`Cannot start: ${name} must be a port number, 1-65535.`);
    return Number(v);
  };
  return {
    blob: pick("AZURITE_BLOB_PORT", DEV_STORAGE_PORTS.blob),
    queue: pick("AZURITE_QUEUE_PORT", DEV_STORAGE_PORTS.queue),
    table: pick("AZURITE_TABLE_PORT", DEV_STORAGE_PORTS.table),
  };
}

async function startEmbeddedAzurite(ports: { blob: number; queue: number; table: number }): Promise<AzuriteInstance> {
  for (const [service, port] of Object.entries(ports)) {
    if (await portTaken(port)) {
      throw new StartupError(
        `Cannot start the embedded Azurite: port ${port} (${service}) is already in use. ` +
        "Another Azurite (or a previous npm start) is probably running; stop it, or point AzureWebJobsStorage at that storage with a full connection string.",
      );
    }
  }
  try {
    return await startAzurite(ports);
  } catch (err) {
    throw new StartupError(`Cannot start the embedded Azurite: ${(err as Error).message}`);
  }
}
