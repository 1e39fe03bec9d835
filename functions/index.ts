/**
 * @module Entry point for the Azure Functions host (package.json "main"): starts telemetry, then
 * registers every definition with `app.*`. HTTP functions are anonymous at the host level because
 * the app checks keys and roles itself (shared/http/auth.ts), identically under every host.
 *
 * Azure Monitor starts first, before any function module is loaded (they are imported only after
 * it), and only when APPLICATIONINSIGHTS_CONNECTION_STRING is set; a failure to start it is logged
 * and the app runs with console telemetry rather than not at all.
 */
import { app } from "@azure/functions";
import { createLogger } from "../shared/runtime/logger.js";
import { startTelemetry } from "../shared/telemetry/azureMonitor.js";

await startTelemetry().catch((err: unknown) => createLogger().error("Azure Monitor did not start; telemetry goes to the console", { err }));
const { definitions } = await import("./definitions.js");

for (const def of definitions) {
  switch (def.kind) {
    case "http":
      app.http(def.name, { methods: def.methods, route: def.route, authLevel: "anonymous", handler: def.handler });
      break;
    case "timer":
      app.timer(def.name, { schedule: def.schedule, handler: def.handler });
      break;
    case "queue":
      app.storageQueue(def.name, { queueName: def.queueName, connection: def.connection, handler: def.handler });
      break;
  }
}
