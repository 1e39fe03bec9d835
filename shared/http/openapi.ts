/**
 * @module The OpenAPI 3.1 document, generated from the routes' own zod schemas: the document
 * cannot drift from what the API validates.
 */
import { z } from "zod";
import type { AnyRouteSpec } from "./route.js";

type JsonSchema = Record<string, unknown>;

function schemaOf(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  const s = z.toJSONSchema(schema, { io, unrepresentable: "any", target: "draft-2020-12" }) as JsonSchema;
  delete s.$schema;
  return s;
}

const errorSchema: JsonSchema = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message", "details"],
      properties: {
        code: { type: "string" },
        message: { type: "string" },
        details: { type: "array", items: { type: "object", properties: { path: { type: "string" }, message: { type: "string" } } } },
      },
    },
  },
};

const errorResponses = (spec: AnyRouteSpec): Record<string, unknown> => {
  const ref = { content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } };
  const out: Record<string, unknown> = {};
  if (spec.body || spec.query || spec.headers) out["400"] = { description: "Validation failed or malformed JSON", ...ref };
  if (spec.role !== "public") {
    out["401"] = { description: "Missing or wrong key", ...ref };
    out["403"] = { description: "The key or principal lacks the role", ...ref };
  }
  if (spec.route.includes("{")) out["404"] = { description: "Not found", ...ref };
  if (["PUT", "PATCH", "DELETE", "POST"].includes(spec.method)) {
    out["409"] = { description: "Conflict", ...ref };
    out["412"] = { description: "If-Match does not match the current ETag", ...ref };
  }
  for (const e of spec.errors ?? []) out[String(e.status)] = { description: e.description, ...ref };
  return out;
};

function operation(spec: AnyRouteSpec): Record<string, unknown> {
  const parameters: unknown[] = [...spec.route.matchAll(/\{(\w+)\??\}/g)].map((m) => ({
    name: m[1], in: "path", required: true, schema: { type: "string" },
  }));
  const query: unknown = spec.query;
  if (query instanceof z.ZodObject) {
    for (const [name, field] of Object.entries(query.shape)) {
      parameters.push({ name, in: "query", required: false, schema: schemaOf(field as z.ZodType, "input") });
    }
  }
  if (["PUT", "PATCH", "DELETE"].includes(spec.method)) {
    parameters.push({ name: "If-Match", in: "header", required: false, schema: { type: "string" } });
  }
  for (const h of spec.headers ?? []) {
    parameters.push({ name: h.name, in: "header", required: false, description: h.description, schema: schemaOf(h.schema, "input") });
  }
  const success: Record<string, unknown> = { description: spec.success.description ?? "OK" };
  if (spec.success.schema && spec.success.status !== 204) {
    success.content = { "application/json": { schema: schemaOf(spec.success.schema, "output") } };
  }
  return {
    operationId: spec.name,
    summary: spec.summary,
    ...(spec.role === "public" ? { security: [] } : {}),
    ...(spec.role === "approver" ? { description: "Needs the approver role: the master key, or the Email.Approver app role." } : {}),
    parameters,
    ...(spec.body ? { requestBody: { required: true, content: { "application/json": { schema: schemaOf(spec.body as z.ZodType, "input") } } } } : {}),
    responses: { [String(spec.success.status)]: success, ...errorResponses(spec) },
  };
}

export function buildOpenApi(routes: AnyRouteSpec[], version: string): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of routes) {
    const path = `/api/${spec.route.replace(/\{(\w+)\?\}/g, "{$1}")}`;
    (paths[path] ??= {})[spec.method.toLowerCase()] = operation(spec);
  }
  return {
    openapi: "3.1.0",
    info: { title: "Email server-side synchronization API", version },
    servers: [{ url: "/" }],
    security: [{ functionKey: [] }, { functionKeyQuery: [] }],
    paths,
    components: {
      securitySchemes: {
        functionKey: { type: "apiKey", in: "header", name: "x-functions-key" },
        functionKeyQuery: { type: "apiKey", in: "query", name: "code" },
      },
      schemas: { Error: errorSchema },
    },
  };
}
