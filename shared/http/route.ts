/**
 * @module One HTTP route: method, path, role, request schemas and handler. `defineRoute` wraps the
 * handler with what every route needs (auth, JSON parsing, validation, the error envelope, a log
 * line) and records the route so the OpenAPI document is generated from the same schemas.
 */
import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import type { z } from "zod";
import { toAppError } from "../errors.js";
import type { HttpFunctionDefinition, HttpMethod } from "../runtime/functionDefinitions.js";
import { getServices, type Services } from "../runtime/services.js";
import { authenticate, requireRole, type Caller, type Role } from "./auth.js";
import { errorResponse } from "./responses.js";
import { parseJson, stripReadOnly, validate } from "./validation.js";

export interface RouteInput<B, Q> {
  body: B;
  query: Q;
  params: Record<string, string>;
  /** The If-Match header, when sent. */
  ifMatch: string | undefined;
  services: Services;
  caller: Caller | null;
  request: HttpRequest;
}

export interface RouteSpec<B extends z.ZodType | undefined, Q extends z.ZodType | undefined> {
  name: string;
  method: HttpMethod;
  /** Below /api, e.g. `profiles/{id}`. */
  route: string;
  /** `public` routes need no key (only the health check). */
  role: Role | "public";
  summary: string;
  body?: B;
  query?: Q;
  /** Success status and schema, for the OpenAPI document. */
  success: { status: number; schema?: z.ZodType; description?: string };
  handle(input: RouteInput<B extends z.ZodType ? z.infer<B> : undefined, Q extends z.ZodType ? z.infer<Q> : undefined>): Promise<HttpResponseInit>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a heterogeneous registry of specs
export type AnyRouteSpec = RouteSpec<any, any>;
export const routeRegistry: AnyRouteSpec[] = [];

/** Query parameters as a plain object; `code` is the key, not a parameter. */
function queryObject(query: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of query) if (k !== "code") out[k] = v;
  return out;
}

export function defineRoute<B extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined>(
  spec: RouteSpec<B, Q>,
): HttpFunctionDefinition {
  routeRegistry.push(spec as AnyRouteSpec);
  const handler = async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    let services: Services | undefined;
    try {
      services = await getServices();
      const caller = spec.role === "public" ? null : authenticate(request, services.appSettings);
      if (caller && spec.role !== "public") requireRole(caller, spec.role);
      const body = spec.body ? validate(spec.body, stripReadOnly(parseJson(await request.text()) ?? {})) : undefined;
      const query = spec.query ? validate(spec.query, queryObject(request.query)) : undefined;
      const ifMatch = request.headers.get("if-match") ?? undefined;
      return await spec.handle({
        body: body as never, query: query as never, params: { ...request.params }, ifMatch, services, caller, request,
      });
    } catch (thrown) {
      const err = toAppError(thrown);
      if (err.status >= 500) {
        const log = services?.log;
        const fields = { function: spec.name, invocationId: context.invocationId, code: err.code, cause: err.cause };
        if (log) log.error("request failed", fields);
        else context.error(JSON.stringify({ msg: "request failed", code: err.code }));
      }
      return errorResponse(err);
    }
  };
  return { kind: "http", name: spec.name, route: spec.route, methods: [spec.method], handler };
}

/** Records a route for the OpenAPI document when its handler is written by hand (the health check). */
export function documentRoute(spec: Omit<AnyRouteSpec, "handle">): void {
  routeRegistry.push({ ...spec, handle: () => Promise.reject(new Error("documentation only")) });
}
