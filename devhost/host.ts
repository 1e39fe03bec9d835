/**
 * @module The dev host: serves one list of function definitions the way the Functions host would
 * (HTTP routes under host.json's routePrefix, the admin API, timers, queue triggers), in process.
 * `npm start` runs it when Azure Functions Core Tools is not installed; tests start it directly.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type {
  FunctionDefinition, HttpFunctionDefinition, QueueFunctionDefinition, TimerFunctionDefinition,
} from "../shared/runtime/functionDefinitions.js";
import { loadHostJson, parseHostJson, type HostJson } from "./hostJson.js";
import { createRequestListener } from "./httpServer.js";
import { jsonLineLog, type DevHostLog } from "./invocation.js";
import { startQueues, type QueueRunner } from "./queues.js";
import { startTimers, type TimerRunner } from "./timers.js";

export interface DevHostOptions {
  definitions: FunctionDefinition[];
  /** App settings (environment merged with local.settings.json); `%NAME%` and keys come from here. */
  settings: Record<string, string | undefined>;
  /** 0 picks a free port. */
  port: number;
  /** Interface to listen on; loopback unless told otherwise. */
  hostname?: string;
  /** host.json to honour; `./host.json` by default (all defaults when it does not exist). */
  hostJsonPath?: string;
  /** host.json contents given directly (tests); wins over hostJsonPath. */
  hostJson?: unknown;
  /** Storage for queue triggers whose connection is AzureWebJobsStorage (or UseDevelopmentStorage). */
  storageConnectionString?: string;
  log?: DevHostLog;
  /**
   * Let client-sent `x-ms-client-principal*` headers through. Only Easy Auth may set them, so they
   * are dropped unless the settings claim Easy Auth (WEBSITE_AUTH_ENABLED=true) or this says so.
   */
  trustClientPrincipal?: boolean;
  /** How long stop() waits for running invocations. */
  shutdownTimeoutMs?: number;
}

export interface DevHost {
  /** Origin, e.g. `http://127.0.0.1:7071`; the admin API lives at `${url}/admin/functions/{name}`. */
  url: string;
  /** `${url}/${routePrefix}`: where the HTTP functions are, e.g. `http://127.0.0.1:7071/api`. */
  apiUrl: string;
  port: number;
  hostJson: HostJson;
  /** Next occurrence of each timer. */
  nextOccurrences(): Record<string, Date>;
  stop(): Promise<void>;
}

const DEV_STORAGE = "UseDevelopmentStorage=true";

export async function startDevHost(options: DevHostOptions): Promise<DevHost> {
  const log = options.log ?? jsonLineLog;
  const hostJson = options.hostJson !== undefined
    ? parseHostJson(options.hostJson)
    : loadHostJson(options.hostJsonPath ?? join(process.cwd(), "host.json"));
  const defs = options.definitions;
  const names = new Set<string>();
  for (const d of defs) {
    if (names.has(d.name.toLowerCase())) throw new Error(`Two functions are named '${d.name}'; function names must be unique.`);
    names.add(d.name.toLowerCase());
  }
  const http = defs.filter((d): d is HttpFunctionDefinition => d.kind === "http");
  const timers = defs.filter((d): d is TimerFunctionDefinition => d.kind === "timer");
  const queueDefs = defs.filter((d): d is QueueFunctionDefinition => d.kind === "queue");
  const masterKey = options.settings.API_MASTER_KEY;
  if (!masterKey) log({ level: "warn", msg: "API_MASTER_KEY is not set: POST /admin/functions/{name} will answer 401" });

  const connectionStringFor = (def: QueueFunctionDefinition): string => {
    const own = def.connection === "AzureWebJobsStorage" ? undefined : options.settings[def.connection];
    const cs = own === undefined || own.trim() === DEV_STORAGE ? options.storageConnectionString : own;
    if (!cs) throw new Error(`Queue function '${def.name}' needs storage: pass storageConnectionString (or set ${def.connection}).`);
    return cs;
  };

  let timerRunner: TimerRunner | undefined;
  let queueRunner: QueueRunner | undefined;
  let server: Server | undefined;
  const shutdownMs = options.shutdownTimeoutMs ?? 10_000;
  const stopAll = async (): Promise<void> => {
    const closing = server ? new Promise<void>((resolve) => server?.close(() => resolve())) : Promise.resolve();
    server?.closeIdleConnections();
    await Promise.all([timerRunner?.stop(shutdownMs), queueRunner?.stop(shutdownMs)]);
    server?.closeAllConnections();
    await closing;
  };

  // Bad routes throw here, before anything starts; bad schedules and connections throw below.
  const listener = createRequestListener({
    definitions: http,
    routePrefix: hostJson.routePrefix,
    log,
    masterKey,
    trustClientPrincipal: options.trustClientPrincipal ?? options.settings.WEBSITE_AUTH_ENABLED?.toLowerCase() === "true",
    admin: { invoke: (name, input) => (timerRunner?.invoke(name) ?? false) || (queueRunner?.invoke(name, input) ?? false) },
  });
  try {
    timerRunner = startTimers(timers, options.settings, log);
    if (queueDefs.length > 0) {
      queueDefs.forEach(connectionStringFor);
      queueRunner = await startQueues({ definitions: queueDefs, connectionStringFor, queues: hostJson.queues, log });
    }
    server = createServer(listener);
    await listen(server, options.port, options.hostname ?? "127.0.0.1");
  } catch (err) {
    await stopAll();
    throw err;
  }

  const port = (server.address() as AddressInfo).port;
  const hostname = options.hostname ?? "127.0.0.1";
  const urlHost = hostname === "0.0.0.0" || hostname === "::" ? "localhost" : hostname.includes(":") ? `[${hostname}]` : hostname;
  const url = `http://${urlHost}:${port}`;
  let stopping: Promise<void> | undefined;
  return {
    url,
    apiUrl: hostJson.routePrefix === "" ? url : `${url}/${hostJson.routePrefix}`,
    port,
    hostJson,
    nextOccurrences: () => timerRunner?.nextOccurrences() ?? {},
    stop: () => (stopping ??= stopAll()),
  };
}

function listen(server: Server, port: number, hostname: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(err.code === "EADDRINUSE"
        ? new Error(`Port ${port} is already in use on ${hostname}; stop whatever is listening there or set PORT to another port.`)
        : err);
    };
    server.once("error", onError);
    server.listen(port, hostname, () => {
      server.off("error", onError);
      resolve();
    });
  });
}
