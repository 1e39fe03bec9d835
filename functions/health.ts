/**
 * @module Route: GET /api/health (no key). 200 when every dependency answers, 503 naming the ones
 * that do not.
 */
import { z } from "zod";
import type { HttpFunctionDefinition } from "../shared/runtime/functionDefinitions.js";
import { documentRoute } from "../shared/http/route.js";
import { json } from "../shared/http/responses.js";
import { checkHealth } from "../shared/runtime/health.js";
import { getServices } from "../shared/runtime/services.js";

const check = z.enum(["ok", "failed"]);
/** A dead dependency must not make the health check itself hang: start-up gets this long. */
const WARM_UP_MS = 3000;
const healthView = z.object({
  status: z.enum(["ok", "unhealthy"]),
  checks: z.object({ tables: check, queues: check, blobs: check, secrets: check }),
});

documentRoute({
  name: "health", method: "GET", route: "health", role: "public",
  summary: "Liveness and dependency checks (no key needed); 503 names the failing check",
  success: { status: 200, schema: healthView },
});

export const healthRoute: HttpFunctionDefinition = {
  kind: "http",
  name: "health",
  route: "health",
  methods: ["GET"],
  handler: async () => {
    try {
      // Start-up creates the tables, queues and containers; a health check on a cold instance
      // should find them, not report their absence. A failure here is named by the checks below.
      await Promise.race([getServices().catch(() => undefined), new Promise((r) => setTimeout(r, WARM_UP_MS).unref())]);
      const report = await checkHealth();
      return json(report.status === "ok" ? 200 : 503, report);
    } catch {
      // Settings could not even be read: nothing below can be checked.
      return json(503, { status: "unhealthy", checks: { tables: "failed", queues: "failed", blobs: "failed", secrets: "failed" } });
    }
  },
};
