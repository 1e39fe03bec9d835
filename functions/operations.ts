/**
 * @module Routes for the console: GET /api/operations (queue depths with the poison queues, the
 * scheduler's last run, the dependency checks) and GET /api/me (the caller's roles, so the console
 * can show approver-only actions disabled; it is also how the console checks a pasted key).
 */
import { z } from "zod";
import { defineRoute } from "../shared/http/route.js";
import { json } from "../shared/http/responses.js";
import { operationsOverview, operationsQuery, operationsView } from "../shared/admin/operations.js";

const meView = z.object({
  roles: z.array(z.enum(["admin", "approver"])),
  via: z.enum(["key", "masterKey", "easyAuth"]).describe("how the caller signed in: a function key, the master key, or App Service Authentication"),
});

export const operationsRoutes = [
  defineRoute({
    name: "operationsGet", method: "GET", route: "operations", role: "admin",
    summary: "Queue depths (poison queues included), the scheduler's last run and the dependency checks, for the console's operations page",
    query: operationsQuery,
    success: { status: 200, schema: operationsView },
    handle: async ({ services }) => json(200, await operationsOverview(services)),
  }),
  defineRoute({
    name: "me", method: "GET", route: "me", role: "admin",
    summary: "The caller's roles (admin, approver) and how it signed in",
    query: operationsQuery,
    success: { status: 200, schema: meView },
    handle: ({ caller }) => Promise.resolve(json(200, { roles: [...caller?.roles ?? []].sort(), via: caller?.via ?? "key" })),
  }),
];
