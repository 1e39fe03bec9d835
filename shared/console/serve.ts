/**
 * @module One console request to one response: `/api/console` redirects to `/api/console/` (so the
 * bundle's relative URLs resolve under any route prefix), the empty path is index.html, any other
 * path must be one of the loaded asset names or it is a 404. Every answer, errors included, carries
 * the console's security headers (shared/console/securityHeaders.ts).
 */
import type { HttpResponseInit } from "@azure/functions";
import { AppError } from "../errors.js";
import { errorResponse } from "../http/responses.js";
import type { ConsoleAsset, ConsoleAssets } from "./assets.js";
import { withSecurityHeaders as withSecurity } from "./securityHeaders.js";

export interface ConsoleRequest {
  method: string;
  /** The full request URL, to tell `/api/console` from `/api/console/`. */
  url: string;
  /** The route's catch-all parameter: the asset name below /api/console/, undefined for none. */
  path: string | undefined;
  headers: { get(name: string): string | null };
}

const YEAR_S = 365 * 24 * 3600;

/**
 * An asset name as the client sent it, or null when it cannot name an asset: `..` and `.`
 * segments, empty segments, backslashes and control characters are refused before any lookup,
 * although the lookup itself only knows the names found at load.
 */
export function assetName(path: string | undefined): string | null {
  if (path === undefined || path === "" || path === "/") return "index.html";
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\\\u0000-\u001f\u007f]/.test(path) || path.length > 200) return null;
  const segments = path.replace(/\/$/, "").split("/");
  if (segments.some((s) => s === "" || s === "." || s === "..")) return null;
  return segments.join("/");
}

const notFound = (builtAtAll: boolean): HttpResponseInit =>
  withSecurity(errorResponse(new AppError("NOT_FOUND", builtAtAll
    ? "No such console file."
    : "The console is not built: run npm run build (it writes dist/console/).")));

/** Does If-None-Match name this ETag (or `*`)? RFC 9110 13.1.2: weak comparison. */
function matches(ifNoneMatch: string | null, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(",").map((t) => t.trim().replace(/^W\//, "")).some((t) => t === "*" || t === etag);
}

function acceptsGzip(acceptEncoding: string | null): boolean {
  return (acceptEncoding ?? "").split(",").some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(";");
    const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    return coding === "gzip" && (q === undefined || Number(q) > 0);
  });
}

function assetResponse(asset: ConsoleAsset, req: ConsoleRequest): HttpResponseInit {
  const headers: Record<string, string> = {
    "content-type": asset.contentType,
    etag: asset.etag,
    "cache-control": asset.immutable ? `public, max-age=${YEAR_S}, immutable` : "no-cache",
    vary: "Accept-Encoding",
  };
  if (matches(req.headers.get("if-none-match"), asset.etag)) return withSecurity({ status: 304, headers });
  if (asset.gzip && acceptsGzip(req.headers.get("accept-encoding"))) {
    return withSecurity({ status: 200, body: asset.gzip, headers: { ...headers, "content-encoding": "gzip" } });
  }
  return withSecurity({ status: 200, body: asset.body, headers });
}

export function serveConsole(assets: ConsoleAssets, req: ConsoleRequest): HttpResponseInit {
  if (req.method !== "GET") {
    return withSecurity(errorResponse(new AppError("METHOD_NOT_ALLOWED", "The console is read with GET.")));
  }
  const url = new URL(req.url);
  if (req.path === undefined && /\/console$/i.test(url.pathname)) {
    // Relative, so it holds behind any proxy or route prefix: /api/console -> /api/console/
    return withSecurity({ status: 302, headers: { location: `console/${url.search}`, "cache-control": "no-cache" } });
  }
  const name = assetName(req.path);
  const asset = name === null ? undefined : assets.get(name);
  return asset ? assetResponse(asset, req) : notFound(assets.size > 0);
}
