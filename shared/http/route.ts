/**
 * @module One HTTP route: method, path, role, request schemas and handler. `defineRoute` wraps the
 * handler with what every route needs (the body limit, auth, JSON parsing, validation, the error envelope, a log
 * line) and records the route so the OpenAPI document is generated from the same schemas.
 */
import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { z } from "zod";
import { AppError, toAppError, validationFailed, type ErrorDetail } from "../errors.js";
import type { HttpFunctionDefinition, HttpMethod } from "../runtime/functionDefinitions.js";
import { getServices, type Services } from "../runtime/services.js";
import { authenticate, requireRole, type Caller, type Role } from "./auth.js";
import { errorResponse } from "./responses.js";
import { checkDeclaredLength, readBodyText } from "./requestLimits.js";
import { parseJson, stripReadOnly, validate } from "./validation.js";

export interface RouteInput<B, Q> {
  body: B;
  query: Q;
  params: Record<string, string>;
  /** The If-Match header, when sent. */
  ifMatch: string | undefined;
  /** The headers the spec declares, validated; undefined when not sent. */
  headers: Record<string, string | undefined>;
  services: Services;
  caller: Caller | null;
  request: HttpRequest;
}

export interface HeaderSpec {
  name: string;
  schema: z.ZodType<string>;
  description: string;
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
  /** Top-level body fields that are read-only for this route only, ignored like READ_ONLY_FIELDS. */
  readOnly?: readonly string[];
  query?: Q;
  /** Request headers the route reads, validated like the body (a bad one is a 400 naming it) and documented. */
  headers?: HeaderSpec[];
  /** Success status and schema, for the OpenAPI document. */
  success: { status: number; schema?: z.ZodType; description?: string };
  /** Error statuses particular to this route, for the OpenAPI document (the usual ones are derived). */
  errors?: Array<{ status: number; description: string }>;
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

/** Runs one validation; its VALIDATION_FAILED details go into `problems` instead of ending the request. */
function collect<T>(problems: ErrorDetail[], check: () => T): T | undefined {
  try {
    return check();
  } catch (err) {
    if (!(err instanceof AppError && err.code === "VALIDATION_FAILED")) throw err;
    problems.push(...(err.details ?? []));
    return undefined;
  }
}

function validateHeaders(specs: HeaderSpec[], request: HttpRequest): Record<string, string | undefined> {
  const sent = Object.fromEntries(specs.flatMap((h) => {
    const value = request.headers.get(h.name);
    return value === null ? [] : [[h.name, value]];
  }));
  return validate(z.object(Object.fromEntries(specs.map((h) => [h.name, h.schema.optional()]))), sent);
}

export function defineRoute<B extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined>(
  spec: RouteSpec<B, Q>,
): HttpFunctionDefinition {
  routeRegistry.push(spec as AnyRouteSpec);
  const handler = async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    let services: Services | undefined;
    try {
      // A body over the limit is refused from its Content-Length before any key or principal is looked at.
      checkDeclaredLength(request);
      services = await getServices();
      const caller = spec.role === "public" ? null : authenticate(request, services.appSettings);
      if (caller && spec.role !== "public") requireRole(caller, spec.role);
      const json = spec.body ? stripReadOnly(parseJson(await readBodyText(request)) ?? {}, spec.readOnly) : undefined;
      // Body, query and headers are checked together, so one 400 names every bad part.
      const problems: ErrorDetail[] = [];
      const body = spec.body ? collect(problems, () => validate(spec.body as z.ZodType, json)) : undefined;
      const query = spec.query ? collect(problems, () => validate(spec.query as z.ZodType, queryObject(request.query))) : undefined;
      const headers = collect(problems, () => validateHeaders(spec.headers ?? [], request)) ?? {};
      if (problems.length > 0) throw validationFailed(problems);
      const ifMatch = request.headers.get("if-match") ?? undefined;
      return await spec.handle({
        body: body as never, query: query as never, params: { ...request.params }, ifMatch, headers, services, caller, request,
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
