/**
 * The console's static serving (shared/console/): content types, the CSP and other security headers
 * on every answer (errors too), ETag/304, gzip, the redirect to the trailing slash, path traversal
 * and unknown names refused with 404, a wrong key 401, and what an unbuilt console says. Over a real
 * socket through the dev host with only the console route, from a fixture folder.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { startDevHost, type DevHost } from "../../devhost/host.js";
import { createConsoleRoute } from "../../shared/console/route.js";
import { loadConsoleAssets } from "../../shared/console/assets.js";
import { assetName } from "../../shared/console/serve.js";
import { CONTENT_SECURITY_POLICY } from "../../shared/console/securityHeaders.js";
import { loadAppSettings } from "../../shared/config/appSettings.js";

const KEY = "console-test-key";
const SCRIPT = `console.log(${JSON.stringify("x".repeat(4000))});\n`;

interface Answer { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }

/** A raw request: the path goes on the wire exactly as written (fetch would normalise `..`). */
function get(origin: string, path: string, headers: Record<string, string> = {}, method = "GET"): Promise<Answer> {
  const url = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("console static serving", () => {
  let dir: string;
  let host: DevHost;
  let origin: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "console-assets-"));
    mkdirSync(join(dir, "assets"));
    mkdirSync(join(dir, ".vite"));
    writeFileSync(join(dir, "index.html"), "<!doctype html><title>console</title><script type=module src=./assets/app-1.js></script>");
    writeFileSync(join(dir, "assets", "app-1.js"), SCRIPT);
    writeFileSync(join(dir, "assets", "app-1.css"), "body{color:red}");
    writeFileSync(join(dir, "assets", "notes.exe"), "MZ");
    writeFileSync(join(dir, ".vite", "manifest.json"), "{}");
    writeFileSync(join(tmpdir(), "console-secret.txt"), "outside the console folder");
    const settings = { API_KEY: KEY, API_MASTER_KEY: "console-master-key", LOCAL_SECRETS_KEY: randomBytes(32).toString("base64") };
    const route = createConsoleRoute({ load: () => loadConsoleAssets(dir), settings: () => loadAppSettings(settings) });
    host = await startDevHost({ definitions: [route], settings, port: 0, log: () => undefined, hostJson: {} });
    origin = host.url.replace(/\/$/, "");
  });
  after(async () => {
    await host?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves index.html at /api/console/ with the strict CSP and no caching", async () => {
    const res = await get(origin, "/api/console/");
    assert.equal(res.status, 200);
    assert.equal(res.headers["content-type"], "text/html; charset=utf-8");
    assert.equal(res.headers["content-security-policy"], CONTENT_SECURITY_POLICY);
    assert.match(String(res.headers["content-security-policy"]), /default-src 'none'/);
    assert.match(String(res.headers["content-security-policy"]), /script-src 'self'(;|$)/, "no 'unsafe-inline', no 'unsafe-eval'");
    assert.doesNotMatch(String(res.headers["content-security-policy"]), /unsafe|\*|http/);
    assert.match(String(res.headers["content-security-policy"]), /frame-ancestors 'none'/);
    assert.equal(res.headers["x-content-type-options"], "nosniff");
    assert.equal(res.headers["cache-control"], "no-cache");
    assert.match(res.body.toString("utf8"), /<title>console<\/title>/);
  });

  it("redirects /api/console to /api/console/ so relative asset URLs resolve", async () => {
    const res = await get(origin, "/api/console");
    assert.equal(res.status, 302);
    assert.equal(res.headers.location, "console/");
    assert.equal(new URL(String(res.headers.location), `${origin}/api/console`).pathname, "/api/console/");
    assert.ok(res.headers["content-security-policy"]);
  });

  it("serves hashed assets with their content type, immutable caching and an ETag; If-None-Match is 304", async () => {
    const js = await get(origin, "/api/console/assets/app-1.js");
    assert.equal(js.status, 200);
    assert.equal(js.headers["content-type"], "text/javascript; charset=utf-8");
    assert.match(String(js.headers["cache-control"]), /immutable/);
    assert.equal(js.body.toString("utf8"), SCRIPT);
    const etag = String(js.headers.etag);
    assert.match(etag, /^"[\w-]+"$/);
    const css = await get(origin, "/api/console/assets/app-1.css");
    assert.equal(css.headers["content-type"], "text/css; charset=utf-8");
    assert.notEqual(css.headers.etag, etag);
    const again = await get(origin, "/api/console/assets/app-1.js", { "if-none-match": etag });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    assert.equal((await get(origin, "/api/console/assets/app-1.js", { "if-none-match": '"other"' })).status, 200);
  });

  it("sends gzip to clients that accept it, and the same bytes", async () => {
    const res = await get(origin, "/api/console/assets/app-1.js", { "accept-encoding": "br, gzip;q=0.8" });
    assert.equal(res.headers["content-encoding"], "gzip");
    assert.equal(res.headers.vary, "Accept-Encoding");
    assert.ok(res.body.length < SCRIPT.length / 10);
    assert.equal(gunzipSync(res.body).toString("utf8"), SCRIPT);
    const refused = await get(origin, "/api/console/assets/app-1.js", { "accept-encoding": "gzip;q=0" });
    assert.equal(refused.headers["content-encoding"], undefined);
  });

  // Literal dot segments are resolved by the host before routing (RFC 3986 5.2.4): the request
  // leaves the console's route, and whatever answers it, nothing outside the folder is read.
  for (const path of ["/api/console/../console-secret.txt", "/api/console/%2e%2e/%2e%2e/package.json", "/api/console/assets/../../../console-secret.txt"]) {
    it(`${path} never reaches a file outside the console folder (404)`, async () => {
      const res = await get(origin, path);
      assert.equal(res.status, 404);
      assert.doesNotMatch(res.body.toString("utf8"), /outside the console folder|"name": "email-sync"/);
    });
  }

  for (const path of [
    "/api/console/..%2f..%2fpackage.json", "/api/console/assets/..%2F..%2F..%2Fetc%2Fpasswd",
    "/api/console/assets%5c..%5c..%5cpackage.json", "/api/console/assets/..%2fapp-1.js", "/api/console/.vite/manifest.json",
    "/api/console/assets/notes.exe", "/api/console/nope.js", "/api/console/index.html%00.js", "/api/console//etc/passwd",
  ]) {
    it(`refuses ${path} with 404 NOT_FOUND, security headers included`, async () => {
      const res = await get(origin, path);
      assert.equal(res.status, 404, res.body.toString("utf8"));
      assert.equal(JSON.parse(res.body.toString("utf8")).error.code, "NOT_FOUND");
      assert.equal(res.headers["content-security-policy"], CONTENT_SECURITY_POLICY);
      assert.doesNotMatch(res.body.toString("utf8"), /outside the console folder|root:|MZ/);
    });
  }

  it("needs no key, but a wrong key is 401 as on every route; the right key is fine", async () => {
    assert.equal((await get(origin, "/api/console/", { "x-functions-key": "wrong" })).status, 401);
    assert.equal((await get(origin, "/api/console/?code=wrong")).status, 401);
    assert.equal((await get(origin, "/api/console/", { "x-functions-key": KEY })).status, 200);
  });

  it("answers other methods 405", async () => {
    // The route is GET only: the dev host itself refuses other methods before the handler.
    const res = await get(origin, "/api/console/", {}, "POST");
    assert.ok(res.status === 404 || res.status === 405, String(res.status));
  });
});

describe("console assets", () => {
  it("an unbuilt console (no folder) is a 404 that says how to build it", async () => {
    const route = createConsoleRoute({ load: () => loadConsoleAssets(join(tmpdir(), "no-such-console-dir")), settings: () => loadAppSettings({}) });
    const { HttpRequest } = await import("@azure/functions");
    const res = await route.handler(new HttpRequest({ method: "GET", url: "http://localhost/api/console/", params: {} }), {} as never);
    assert.equal(res.status, 404);
    assert.match(JSON.stringify(res.jsonBody), /npm run build/);
  });

  it("asset names: the empty path is index.html; dot segments, empty segments, backslashes and control characters name nothing", () => {
    assert.equal(assetName(undefined), "index.html");
    assert.equal(assetName(""), "index.html");
    assert.equal(assetName("assets/a.js"), "assets/a.js");
    for (const bad of ["../x", "assets/../../x", "./index.html", "a//b", "a\\b", "a\u0000b", "a\nb", "x".repeat(300)]) assert.equal(assetName(bad), null, bad);
  });
});
