/**
 * @module Entry point for the Azure Functions host (package.json "main"): registers every
 * definition with `app.*`. HTTP functions are anonymous at the host level because the app checks
 * keys and roles itself (shared/http/auth.ts), identically under every host.
 */
import { app } from "@azure/functions";
import { definitions } from "./definitions.js";

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
