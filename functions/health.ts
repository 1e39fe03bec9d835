/**
 * @module Route: GET /api/health. Without a key it tells strangers only whether the app works
 * (`{"status":"ok"}` 200 or `{"status":"unavailable"}` 503), from a result at most 30 s old: a
 * loop of requests costs the backend at most one round per 30 s (HealthCache). With a valid key
 * (admin or master, or an Easy Auth principal with Email.Admin) it runs a fresh round, shared with
 * any round already in flight, and names every check; 503 names the ones that failed. A wrong key
 * is 401, as on every other route.
 */
import type { HttpRequest, HttpResponseInit } from "@azure/functions";
import { z } from "zod";
import type { HttpFunctionDefinition } from "../shared/runtime/functionDefinitions.js";
import { documentRoute } from "../shared/http/route.js";
import { authenticate, type Caller } from "../shared/http/auth.js";
import { errorResponse, json } from "../shared/http/responses.js";
import { loadAppSettings, type AppSettings } from "../shared/config/appSettings.js";
import { toAppError } from "../shared/errors.js";
import { checkHealth, HealthCache, type HealthReport } from "../shared/runtime/health.js";
import { getServices } from "../shared/runtime/services.js";

const check = z.enum(["ok", "failed"]);
/** A dead dependency must not make the health check itself hang: start-up gets this long. */
const WARM_UP_MS = 3000;
const healthView = z.object({
  status: z.enum(["ok", "unhealthy", "unavailable"]),
  checks: z.object({ tables: check, queues: check, blobs: check, secrets: check }).optional()
    .describe("Only with a key; without one the answer is the status alone"),
});

documentRoute({
  name: "health", method: "GET", route: "health", role: "public",
  summary: "Liveness (no key needed; status only, at most 30 s old) and, with a key, the dependency checks (503 names the failing one)",
  success: { status: 200, schema: healthView },
  errors: [
    { status: 401, description: "A key was sent and it is not valid" },
    { status: 503, description: "A dependency does not answer (named in checks, with a key)" },
  ],
});

async function defaultCheck(): Promise<HealthReport> {
  // Start-up creates the tables, queues and containers; a health check on a cold instance
  // should find them, not report their absence. A failure here is named by the checks.
  await Promise.race([getServices().catch(() => undefined), new Promise((r) => setTimeout(r, WARM_UP_MS).unref())]);
  return checkHealth();
}

export interface HealthRouteOptions {
  /** One backend round; tests count them. */
  check?: () => Promise<HealthReport>;
  now?: () => number;
  settings?: () => AppSettings;
}

/**
 * The caller when credentials were sent. A forged principal header (no Easy Auth) counts as none;
 * so do settings that cannot be read (the checks then fail, and a stranger learns no setting names).
 */
function callerOf(request: HttpRequest, settings: () => AppSettings): Caller | null {
  const key = request.headers.get("x-functions-key") ?? request.query.get("code");
  if (!key && !request.headers.get("x-ms-client-principal")) return null;
  let loaded: AppSettings;
  try {
    loaded = settings();
  } catch {
    return null;
  }
  if (key) return authenticate(request, loaded); // a wrong key is 401, as on every route
  try {
    return authenticate(request, loaded);
  } catch {
    return null;
  }
}

export function createHealthRoute(opts: HealthRouteOptions = {}): HttpFunctionDefinition {
  const cache = new HealthCache(opts.check ?? defaultCheck, opts.now);
  const settings = opts.settings ?? (() => loadAppSettings());
  const handler = async (request: HttpRequest): Promise<HttpResponseInit> => {
    try {
      if (callerOf(request, settings)?.roles.has("admin")) {
        const report = await cache.fresh();
        return json(report.status === "ok" ? 200 : 503, report);
      }
      const { status } = await cache.cached();
      return status === "ok" ? json(200, { status: "ok" }) : json(503, { status: "unavailable" });
    } catch (thrown) {
      return errorResponse(toAppError(thrown));
    }
  };
  return { kind: "http", name: "health", route: "health", methods: ["GET"], handler };
}

export const healthRoute: HttpFunctionDefinition = createHealthRoute();
