/**
 * @module The console's HTTP function: GET /api/console and everything below it, served from the
 * assets loaded once per process. No key is needed (the page holds no data; every API call it
 * makes carries the admin's key or rides on Easy Auth), but a key that is sent must be valid, as
 * on every route (API.md "Conventions": a wrong key is 401).
 */
import type { HttpRequest, HttpResponseInit } from "@azure/functions";
import type { HttpFunctionDefinition } from "../runtime/functionDefinitions.js";
import { loadAppSettings, type AppSettings } from "../config/appSettings.js";
import { authenticate } from "../http/auth.js";
import { errorResponse } from "../http/responses.js";
import { toAppError } from "../errors.js";
import { loadConsoleAssets, type ConsoleAssets } from "./assets.js";
import { serveConsole } from "./serve.js";
import { withSecurityHeaders } from "./securityHeaders.js";

export const CONSOLE_ROUTE = "console/{*path}";

export interface ConsoleRouteOptions {
  load?: () => Promise<ConsoleAssets>;
  settings?: () => AppSettings;
}

export function createConsoleRoute(opts: ConsoleRouteOptions = {}): HttpFunctionDefinition {
  const load = opts.load ?? (() => loadConsoleAssets());
  const settings = opts.settings ?? (() => loadAppSettings());
  let assets: Promise<ConsoleAssets> | undefined;
  const handler = async (request: HttpRequest): Promise<HttpResponseInit> => {
    try {
      if (request.headers.get("x-functions-key") ?? request.query.get("code")) authenticate(request, settings());
      // A failed load is not cached: the next request tries again.
      assets ??= load().catch((err: unknown) => { assets = undefined; throw err; });
      return serveConsole(await assets, { method: request.method, url: request.url, path: request.params.path, headers: request.headers });
    } catch (thrown) {
      return withSecurityHeaders(errorResponse(toAppError(thrown)));
    }
  };
  return { kind: "http", name: "console", route: CONSOLE_ROUTE, methods: ["GET"], handler };
}
