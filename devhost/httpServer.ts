/**
 * @module The HTTP side of the dev host: routes `/{routePrefix}/{route}` to the HTTP function
 * definitions, hands each handler the same HttpRequest / InvocationContext objects the Functions
 * worker builds, and writes back its HttpResponseInit through the library's own HttpResponse, so
 * bodies, JSON and default content types come out as they would under the host.
 * The host does no key or role checks for app routes (handlers do); it guards only the admin API.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ReadableStream } from "node:stream/web";
import { randomUUID } from "node:crypto";
import functions, { type Cookie, type HttpResponseInit } from "@azure/functions";
import type { HttpFunctionDefinition } from "../shared/runtime/functionDefinitions.js";
import { handleAdminInvoke, type AdminInvoker } from "./admin.js";
import { createContext, describeError, type DevHostLog } from "./invocation.js";
import { byPrecedence, compileRoute, matchRoute, splitPath, type CompiledRoute } from "./routes.js";
import { declaresTooMuch, MAX_REQUEST_BODY_BYTES } from "../shared/http/requestLimits.js";

/** How long the rest of a refused body is read and dropped before the connection closes. */
const LINGER_MS = 2_000;

/**
 * Bodies over the app's own limit (shared/http/requestLimits.ts, below the host's 100 MB default)
 * are refused here, from Content-Length before routing and while streaming, so nothing of theirs
 * is buffered and no handler (key check, Easy Auth parsing) runs for them.
 */
export const MAX_REQUEST_BYTES = MAX_REQUEST_BODY_BYTES;

/**
 * Easy Auth sets these after it has authenticated the caller and strips any a client sends.
 * Without Easy Auth in front, a client could claim any role with them, so they are dropped.
 */
const EASY_AUTH_HEADER = /^x-ms-client-principal/i;

export interface HttpServerOptions {
  definitions: HttpFunctionDefinition[];
  routePrefix: string;
  log: DevHostLog;
  masterKey: string | undefined;
  admin: AdminInvoker;
  /** Pass client-sent `x-ms-client-principal*` headers through (only to test Easy Auth roles). */
  trustClientPrincipal?: boolean;
}

class RequestTooLarge extends Error {}

export function createRequestListener(options: HttpServerOptions): RequestListener {
  const routes = byPrecedence(options.definitions.map((d) => compileRoute(d.route, d)));
  const prefix = splitPath(options.routePrefix).map((s) => s.toLowerCase());
  return (req, res) => {
    const started = performance.now();
    const method = (req.method ?? "GET").toUpperCase();
    const url = requestUrl(req);
    let functionName: string | undefined;
    // "close" comes after "finish", and also when the client goes away first.
    res.once("close", () => {
      // The query string is never logged: `?code=` carries a key.
      options.log({
        level: "info", msg: "http", method, path: url.pathname, status: res.statusCode,
        ms: Math.round(performance.now() - started), ...(functionName ? { function: functionName } : {}),
        ...(res.writableFinished ? {} : { aborted: true }),
      });
    });
    const handled = (async (): Promise<void> => {
      if (declaresTooMuch(header(req, "content-length"), MAX_REQUEST_BYTES)) throw new RequestTooLarge();
      const path = splitPath(url.pathname);
      const admin = adminFunctionName(path);
      if (admin !== undefined) return serveAdmin(req, res, method, url, admin, options);
      const below = stripPrefix(path, prefix);
      const candidates = below === null ? [] : routes.flatMap((r) => {
        const params = matchRoute(r, below);
        return params ? [{ route: r, params }] : [];
      });
      if (candidates.length === 0) return sendError(res, 404, "NOT_FOUND", `No function serves ${method} ${url.pathname}.`);
      const hit = candidates.find((c) => (c.route.value.methods as string[]).includes(method));
      if (!hit) {
        const allowed = [...new Set(candidates.flatMap((c) => c.route.value.methods))];
        res.setHeader("allow", allowed.join(", "));
        return sendError(res, 405, "METHOD_NOT_ALLOWED", `${method} is not allowed here; use ${allowed.join(", ")}.`);
      }
      functionName = hit.route.value.name;
      await invokeHttp(req, res, method, url, hit.route, hit.params, options);
    })();
    handled.catch((err: unknown) => {
      if (err instanceof RequestTooLarge) {
        // The rest of the body is not kept. Closing at once with unread bytes would send a TCP reset
        // that can wipe the 413 from the client's buffer (Node closes after "Connection: close"),
        // so the rest is read and dropped for a moment first, then the connection is cut (a
        // "lingering close", as nginx does).
        res.once("finish", () => {
          const linger = setTimeout(() => req.destroy(), LINGER_MS);
          linger.unref();
          req.once("end", () => { clearTimeout(linger); req.destroy(); });
          req.resume();
        });
        return sendError(res, 413, "PAYLOAD_TOO_LARGE", `The request body is larger than ${MAX_REQUEST_BYTES} bytes.`);
      }
      options.log({ level: "error", msg: "dev host failed to serve a request", method, path: url.pathname, ...describeError(err) });
      if (!res.headersSent) return sendError(res, 500, "INTERNAL", "An unexpected error occurred.");
      res.destroy();
    });
  };
}

async function invokeHttp(
  req: IncomingMessage, res: ServerResponse, method: string, url: URL,
  route: CompiledRoute<HttpFunctionDefinition>, params: Record<string, string>, options: HttpServerOptions,
): Promise<void> {
  const body = await readBody(req);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || (!options.trustClientPrincipal && EASY_AUTH_HEADER.test(name))) continue;
    headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  const request = new functions.HttpRequest({
    method,
    url: url.href,
    headers,
    params,
    // GET and HEAD cannot carry a body in the fetch Request the library wraps.
    ...(method === "GET" || method === "HEAD" ? {} : { body: { bytes: body } }),
  });
  const def = route.value;
  const context = createContext(def.name, options.log, {
    invocationId: randomUUID(),
    options: { trigger: { type: "httpTrigger", name: "request" } },
  });
  let result: HttpResponseInit;
  try {
    result = await def.handler(request, context);
  } catch (err) {
    options.log({ level: "error", msg: `Function '${def.name}' threw`, function: def.name, invocationId: context.invocationId, ...describeError(err) });
    return sendError(res, 500, "INTERNAL", "An unexpected error occurred.");
  }
  await writeResponse(res, result);
}

/** Writes what a handler returned, converted by the library exactly as the worker converts it. */
export async function writeResponse(res: ServerResponse, result: HttpResponseInit | InstanceType<typeof functions.HttpResponse> | undefined): Promise<void> {
  const response = result instanceof functions.HttpResponse ? result : new functions.HttpResponse(result ?? {});
  res.statusCode = response.status;
  for (const [name, value] of response.headers) if (name !== "set-cookie") res.setHeader(name, value);
  const cookies = [...response.headers.getSetCookie(), ...response.cookies.map(serializeCookie)];
  if (cookies.length > 0) res.setHeader("set-cookie", cookies);
  const init = result instanceof functions.HttpResponse ? undefined : result?.body;
  if (response.body !== null && isStreamBody(init)) {
    await pipeline(Readable.fromWeb(response.body), res);
    return;
  }
  const bytes = Buffer.from(await response.arrayBuffer());
  res.setHeader("content-length", bytes.length);
  res.end(bytes);
}

function isStreamBody(body: unknown): boolean {
  return body instanceof ReadableStream || body instanceof Readable ||
    (typeof body === "object" && body !== null && !ArrayBuffer.isView(body) && Symbol.asyncIterator in body);
}

function serializeCookie(c: Cookie): string {
  const parts = [`${c.name}=${c.value}`];
  if (c.domain) parts.push(`Domain=${c.domain}`);
  if (c.path) parts.push(`Path=${c.path}`);
  if (c.expires !== undefined) parts.push(`Expires=${new Date(c.expires).toUTCString()}`);
  if (c.maxAge !== undefined) parts.push(`Max-Age=${c.maxAge}`);
  if (c.secure) parts.push("Secure");
  if (c.httpOnly) parts.push("HttpOnly");
  if (c.sameSite) parts.push(`SameSite=${c.sameSite}`);
  return parts.join("; ");
}

async function serveAdmin(req: IncomingMessage, res: ServerResponse, method: string, url: URL, name: string, options: HttpServerOptions): Promise<void> {
  if (method !== "POST") {
    res.setHeader("allow", "POST");
    return sendError(res, 405, "METHOD_NOT_ALLOWED", `${method} is not allowed here; use POST.`);
  }
  const header = req.headers["x-functions-key"];
  const key = (Array.isArray(header) ? header[0] : header) ?? url.searchParams.get("code") ?? undefined;
  const result = handleAdminInvoke(name, key, await readBody(req), options.masterKey, options.admin);
  if (result.code) return sendError(res, result.status, result.code, result.message ?? "");
  res.statusCode = result.status;
  res.setHeader("content-length", 0);
  res.end();
}

function adminFunctionName(path: string[]): string | undefined {
  const [a, f, name, extra] = path;
  if (a?.toLowerCase() !== "admin" || f?.toLowerCase() !== "functions" || name === undefined || extra !== undefined) return undefined;
  try {
    return decodeURIComponent(name);
  } catch {
    return undefined;
  }
}

function stripPrefix(path: string[], prefix: string[]): string[] | null {
  for (let i = 0; i < prefix.length; i++) if (path[i]?.toLowerCase() !== prefix[i]) return null;
  return path.slice(prefix.length);
}

/** The request's absolute URL; a Host header that is not a plain host[:port] is not trusted. */
function requestUrl(req: IncomingMessage): URL {
  const host = req.headers.host;
  const local = req.socket.localPort === undefined ? "localhost" : `localhost:${req.socket.localPort}`;
  const authority = host !== undefined && /^[A-Za-z0-9.-]+(:\d+)?$|^\[[0-9A-Fa-f:.]+\](:\d+)?$/.test(host) ? host : local;
  const target = (req.url ?? "/").startsWith("/") ? (req.url ?? "/") : `/${req.url ?? ""}`;
  try {
    return new URL(`http://${authority}${target}`);
  } catch {
    return new URL(`http://${local}/`);
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  if (declaresTooMuch(header(req, "content-length"), MAX_REQUEST_BYTES)) throw new RequestTooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_REQUEST_BYTES) throw new RequestTooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  const body = Buffer.from(JSON.stringify({ error: { code, message } }));
  res.statusCode = status;
  res.setHeader("content-type", "application/json; charset=utf-8");
  res.setHeader("content-length", body.length);
  res.end(body);
}
