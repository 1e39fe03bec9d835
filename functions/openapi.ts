/**
 * @module Route: GET /api/openapi.json, generated from every registered route's schemas.
 */
import { z } from "zod";
import { defineRoute, routeRegistry } from "../shared/http/route.js";
import { json } from "../shared/http/responses.js";
import { buildOpenApi } from "../shared/http/openapi.js";

export const openApiRoute = defineRoute({
  name: "openapi", method: "GET", route: "openapi.json", role: "admin",
  summary: "This API's OpenAPI 3.1 document",
  success: { status: 200, schema: z.record(z.string(), z.unknown()) },
  handle: () => Promise.resolve(json(200, buildOpenApi(routeRegistry, "0.1.0"))),
});
