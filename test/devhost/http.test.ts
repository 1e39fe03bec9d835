import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import type { HttpRequest, HttpResponseInit, InvocationContext, Timer } from "@azure/functions";
import type { FunctionDefinition, HttpMethod } from "../../shared/runtime/functionDefinitions.js";
import { startDevHost, type DevHost } from "../../devhost/host.js";
import type { DevHostLogEntry } from "../../devhost/invocation.js";

const MASTER = "test-master-key-123";

/** A handler that reports what it was given. */
function echo(tag: string) {
  return async (req: HttpRequest, ctx: InvocationContext): Promise<HttpResponseInit> => ({
    jsonBody: {
      tag,
      functionName: ctx.functionName,
      invocationId: ctx.invocationId,
      method: req.method,
      url: req.url,
      params: req.params,
      query: [...req.query.entries()],
      header: req.headers.get("x-test"),
      principal: req.headers.get("x-ms-client-principal"),
      body: req.method === "GET" ? null : await req.text(),
    },
  });
}

function route(name: string, r: string, methods: HttpMethod[], handler = echo(name)): FunctionDefinition {
  return { kind: "http", name, route: r, methods, handler };
}

describe("dev host: HTTP", () => {
  let host: DevHost;
  const logs: DevHostLogEntry[] = [];
  const timerCalls: Array<{ timer: Timer; name: string }> = [];

  before(async () => {
    const definitions: FunctionDefinition[] = [
      route("getMailbox", "mailboxes/{id}", ["GET", "PATCH"]),
      route("applyDefaults", "mailboxes/apply-default-settings", ["POST"]),
      route("items", "items/{id?}", ["GET"]),
      route("files", "files/{*path}", ["GET"]),
      route("echo", "echo/{a}/{b}", ["POST", "PUT"]),
      route("text", "kinds/text", ["GET"], () => Promise.resolve({ status: 418, body: "short and stout", headers: { "x-kind": "text" } })),
      route("bytes", "kinds/bytes", ["GET"], () => Promise.resolve({ body: Buffer.from([0, 1, 2, 255]), headers: { "content-type": "application/octet-stream" } })),
      route("u8", "kinds/u8", ["GET"], () => Promise.resolve({ body: new Uint8Array([104, 105]) })),
      route("web", "kinds/web-stream", ["GET"], () => Promise.resolve({
        body: new ReadableStream<Uint8Array>({
          start(c) { c.enqueue(new TextEncoder().encode("web ")); c.enqueue(new TextEncoder().encode("stream")); c.close(); },
        }),
      })),
      route("node", "kinds/node-stream", ["GET"], () => Promise.resolve({ body: Readable.from([Buffer.from("node "), Buffer.from("stream")]) })),
      route("created", "kinds/json", ["POST"], () => Promise.resolve({ status: 201, jsonBody: { ok: true }, cookies: [{ name: "a", value: "b", httpOnly: true }] })),
      route("empty", "kinds/empty", ["DELETE"], () => Promise.resolve({ status: 204 })),
      route("boom", "boom", ["GET"], () => Promise.reject(new Error("db password hunter2 leaked"))),
      { kind: "timer", name: "nightly", schedule: "0 0 3 * * *", handler: (timer) => { timerCalls.push({ timer, name: "nightly" }); return Promise.resolve(); } },
    ];
    host = await startDevHost({ definitions, settings: { API_MASTER_KEY: MASTER }, port: 0, hostJson: {}, log: (e) => logs.push(e) });
  });
  after(async () => host.stop());

  const get = async (path: string, init?: RequestInit): Promise<Response> => fetch(`${host.apiUrl}${path}`, init);

  it("serves under the route prefix and reports where", () => {
    assert.match(host.apiUrl, /^http:\/\/127\.0\.0\.1:\d+\/api$/);
    assert.equal(host.url, `http://127.0.0.1:${host.port}`);
  });

  it("prefers a literal segment over a parameter for the methods it accepts", async () => {
    const lit = (await (await get("/mailboxes/apply-default-settings", { method: "POST", body: "{}" })).json()) as { tag: string };
    assert.equal(lit.tag, "applyDefaults");
    const param = (await (await get("/mailboxes/abc")).json()) as { tag: string; params: Record<string, string> };
    assert.equal(param.tag, "getMailbox");
    assert.deepEqual(param.params, { id: "abc" });
    // Like the host's router: GET does not fit the literal route, so the parameter route takes it.
    const fallThrough = (await (await get("/mailboxes/apply-default-settings")).json()) as { tag: string; params: Record<string, string> };
    assert.equal(fallThrough.tag, "getMailbox");
    assert.deepEqual(fallThrough.params, { id: "apply-default-settings" });
  });

  it("optional and catch-all parameters, decoding, case and trailing slashes", async () => {
    assert.deepEqual(((await (await get("/items")).json()) as { params: object }).params, {});
    assert.deepEqual(((await (await get("/items/7/")).json()) as { params: object }).params, { id: "7" });
    assert.deepEqual(((await (await get("/files/a/b%20c.txt")).json()) as { params: object }).params, { path: "a/b c.txt" });
    const upper = (await (await fetch(`${host.url}/API/Mailboxes/x%2Fy`)).json()) as { tag: string; params: object };
    assert.equal(upper.tag, "getMailbox");
    assert.deepEqual(upper.params, { id: "x/y" });
  });

  it("404 JSON for unknown paths, also outside the prefix", async () => {
    for (const url of [`${host.apiUrl}/nope`, `${host.url}/mailboxes/abc`, `${host.apiUrl}/mailboxes/a/b`]) {
      const res = await fetch(url);
      assert.equal(res.status, 404, url);
      assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, "NOT_FOUND");
      assert.equal(typeof body.error.message, "string");
    }
  });

  it("405 for a known path with the wrong method, with Allow", async () => {
    const res = await get("/mailboxes/abc", { method: "DELETE" });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get("allow"), "GET, PATCH");
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, "METHOD_NOT_ALLOWED");
  });

  it("passes method, url, headers, query, params and body bytes through", async () => {
    const res = await get("/echo/one/t%C3%BCr?x=1&x=2&y=%C3%A9", { method: "PUT", headers: { "x-test": "hello" }, body: "båd bytes" });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
    const b = (await res.json()) as Record<string, unknown>;
    assert.equal(b.functionName, "echo");
    assert.match(String(b.invocationId), /^[0-9a-f-]{36}$/);
    assert.equal(b.method, "PUT");
    assert.equal(b.url, `${host.apiUrl}/echo/one/t%C3%BCr?x=1&x=2&y=%C3%A9`);
    assert.deepEqual(b.params, { a: "one", b: "tür" });
    assert.deepEqual(b.query, [["x", "1"], ["x", "2"], ["y", "é"]]);
    assert.equal(b.header, "hello");
    assert.equal(b.body, "båd bytes");
  });

  it("drops a client-sent x-ms-client-principal (only Easy Auth may set it)", async () => {
    const b = (await (await get("/echo/a/b", { method: "POST", headers: { "x-ms-client-principal": "e30=" }, body: "" })).json()) as Record<string, unknown>;
    assert.equal(b.principal, null);
  });

  it("writes string, bytes, streams, JSON and empty bodies as the worker would", async () => {
    const text = await get("/kinds/text");
    assert.equal(text.status, 418);
    assert.equal(text.headers.get("x-kind"), "text");
    assert.match(text.headers.get("content-type") ?? "", /^text\/plain/);
    assert.equal(await text.text(), "short and stout");

    const bytes = await get("/kinds/bytes");
    assert.deepEqual([...new Uint8Array(await bytes.arrayBuffer())], [0, 1, 2, 255]);
    assert.equal(bytes.headers.get("content-length"), "4");
    assert.equal(await (await get("/kinds/u8")).text(), "hi");
    assert.equal(await (await get("/kinds/web-stream")).text(), "web stream");
    assert.equal(await (await get("/kinds/node-stream")).text(), "node stream");

    const json = await get("/kinds/json", { method: "POST" });
    assert.equal(json.status, 201);
    assert.deepEqual(await json.json(), { ok: true });
    assert.equal(json.headers.get("set-cookie"), "a=b; HttpOnly");

    const empty = await get("/kinds/empty", { method: "DELETE" });
    assert.equal(empty.status, 204);
    assert.equal(await empty.text(), "");
  });

  it("a handler that throws is a 500 INTERNAL that does not leak the error text", async () => {
    const res = await get("/boom");
    assert.equal(res.status, 500);
    const text = await res.text();
    assert.equal(JSON.parse(text).error.code, "INTERNAL");
    assert.doesNotMatch(text, /hunter2|password/);
    assert.ok(logs.some((l) => l.level === "error" && l.function === "boom"));
  });

  it("logs one JSON line per request without the query string", async () => {
    await get("/items/9?code=supersecretkey&x=1");
    const line = logs.find((l) => l.msg === "http" && l.path === "/api/items/9");
    assert.ok(line);
    assert.equal(line.method, "GET");
    assert.equal(line.status, 200);
    assert.equal(line.function, "items");
    assert.equal(typeof line.ms, "number");
    assert.doesNotMatch(JSON.stringify(logs), /supersecretkey/);
  });

  describe("POST /admin/functions/{name}", () => {
    const admin = (name: string, init: RequestInit = {}, query = ""): Promise<Response> =>
      fetch(`${host.url}/admin/functions/${name}${query}`, { method: "POST", body: JSON.stringify({ input: "" }), ...init });

    it("401 without the master key or with a wrong one (an app key is not enough)", async () => {
      assert.equal((await admin("nightly")).status, 401);
      assert.equal((await admin("nightly", { headers: { "x-functions-key": "wrong" } })).status, 401);
      assert.equal((await admin("nightly", {}, "?code=wrong")).status, 401);
      const res = await admin("unknown");
      assert.equal(res.status, 401, "the key is checked before the name, so names do not leak");
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, "UNAUTHORIZED");
      assert.equal(timerCalls.length, 0);
    });

    it("404 for an unknown function or an HTTP one; 405 for GET; 400 for bad JSON", async () => {
      const key = { "x-functions-key": MASTER };
      assert.equal((await admin("unknown", { headers: key })).status, 404);
      assert.equal((await admin("boom", { headers: key })).status, 404);
      assert.equal((await fetch(`${host.url}/admin/functions/nightly`, { headers: key })).status, 405);
      assert.equal((await admin("nightly", { headers: key, body: "{nope" })).status, 400);
    });

    it("202 and runs the timer, key in header or in ?code=", async () => {
      const res = await admin("nightly", { headers: { "x-functions-key": MASTER } });
      assert.equal(res.status, 202);
      assert.equal((await admin("nightly", {}, `?code=${MASTER}`)).status, 202);
      const deadline = Date.now() + 2000;
      while (timerCalls.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.equal(timerCalls.length, 2);
      const t = timerCalls[0]?.timer;
      assert.equal(t?.isPastDue, false);
      assert.deepEqual(t?.schedule, { adjustForDST: false });
      assert.match(t?.scheduleStatus.next ?? "", /T03:00:00\.000Z$/);
      assert.doesNotMatch(JSON.stringify(logs), new RegExp(MASTER));
    });
  });
});
