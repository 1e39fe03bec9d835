/**
 * Test harness: Azurite on free ports, the app's services on it, and the dev host serving the
 * real function definitions over a real socket.
 */
import { randomBytes } from "node:crypto";
import { startAzurite, type AzuriteInstance } from "../../shared/runtime/azurite.js";
import { loadAppSettings } from "../../shared/config/appSettings.js";
import { createServices, setServices, type ServiceOverrides, type Services } from "../../shared/runtime/services.js";
import { startDevHost } from "../../devhost/host.js";
import { definitions } from "../../functions/definitions.js";
import type { FunctionDefinition } from "../../shared/runtime/functionDefinitions.js";

export const ADMIN_KEY = "test-admin-key-123";
export const MASTER_KEY = "test-master-key-456";

export interface TestApp {
  url: string;
  azurite: AzuriteInstance;
  services: Services;
  settings: Record<string, string>;
  call(method: string, path: string, opts?: { body?: unknown; rawBody?: string; key?: string | null; headers?: Record<string, string> }): Promise<{ status: number; body: any; headers: Headers; text: string }>;
  /** Runs a timer or queue function on demand, as Azure's admin API does; returns the HTTP status. */
  runFunction(name: string, input?: string): Promise<number>;
  stop(): Promise<void>;
}

export async function startTestApp(opts: { overrides?: ServiceOverrides; extraSettings?: Record<string, string>; definitions?: FunctionDefinition[] } = {}): Promise<TestApp> {
  const azurite = await startAzurite();
  const settings: Record<string, string> = {
    AzureWebJobsStorage: azurite.connectionString,
    API_KEY: ADMIN_KEY,
    API_MASTER_KEY: MASTER_KEY,
    LOCAL_SECRETS_KEY: randomBytes(32).toString("base64"),
    SCHEDULER_SCHEDULE: "0 0 0 1 1 *",
    LOG_LEVEL: "silent",
    // The fake token servers are plain http on 127.0.0.1 (shared/oauth/tokenUrlPolicy.ts).
    ALLOW_INSECURE_TOKEN_URL: "loopback",
    ...opts.extraSettings,
  };
  Object.assign(process.env, settings);
  const services = await createServices(loadAppSettings(settings), opts.overrides);
  setServices(services);
  const host = await startDevHost({
    definitions: opts.definitions ?? definitions,
    settings,
    port: 0,
    storageConnectionString: azurite.connectionString,
    log: () => undefined,
    trustClientPrincipal: true,
  });
  const url = host.url.replace(/\/$/, "");
  return {
    url, azurite, services, settings,
    async call(method, path, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      const key = o.key === undefined ? ADMIN_KEY : o.key;
      if (key !== null) headers["x-functions-key"] = key;
      let body: string | undefined = o.rawBody;
      if (o.body !== undefined) {
        body = JSON.stringify(o.body);
        headers["content-type"] = "application/json";
      }
      const res = await fetch(`${url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      let parsed: unknown = undefined;
      try { parsed = text ? JSON.parse(text) : undefined; } catch { parsed = text; }
      return { status: res.status, body: parsed, headers: res.headers, text };
    },
    async runFunction(name, input = "") {
      const res = await fetch(`${url}/admin/functions/${name}`, {
        method: "POST", headers: { "x-functions-key": MASTER_KEY, "content-type": "application/json" }, body: JSON.stringify({ input }),
      });
      return res.status;
    },
    async stop() {
      await host.stop();
      setServices(undefined);
      await azurite.stop();
    },
  };
}

export const sampleProfile = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  name: "Contoso POP3",
  incoming: { host: "pop.contoso.test", useSsl: true },
  outgoing: { host: "smtp.contoso.test", useSsl: true },
  ...over,
});
