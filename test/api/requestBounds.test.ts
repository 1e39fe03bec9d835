/**
 * Requests are bounded before they are read (issue 10, point 7): a body over MAX_REQUEST_BODY_BYTES
 * is 413 before any key or principal is looked at, under the dev host and in the route layer the
 * Functions host calls; malformed continuation tokens and headers are 400 and leave nothing
 * behind; MALFORMED_JSON never quotes the body.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import functions from "@azure/functions";
import { startTestApp, type TestApp } from "../support/app.js";
import { definitions } from "../../functions/definitions.js";
import { MAX_REQUEST_BODY_BYTES, readBodyText } from "../../shared/http/requestLimits.js";
import { CONTAINERS, TABLES } from "../../shared/storage/names.js";
import { isAppError } from "../../shared/errors.js";
import type { HttpFunctionDefinition } from "../../shared/runtime/functionDefinitions.js";

let app: TestApp;
let mailboxId: string;
before(async () => {
  app = await startTestApp();
  const m = await app.call("POST", "/api/mailboxes", { body: { owner: { type: "queue", id: "q-bounds" }, emailAddress: "bounds@contoso.test" } });
  assert.equal(m.status, 201, m.text);
  mailboxId = m.body.id;
});
after(async () => { await app?.stop(); });

/** A raw request: headers as given, then `body` written in chunks (nothing when absent). */
function raw(method: string, path: string, headers: Record<string, string>, body?: { chunk: Buffer; times: number }): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${app.url}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    // The server answers and closes before the body is all sent: that is the point, not an error.
    // But a reset that wiped the answer must fail the test, not hang it.
    req.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code !== "EPIPE" && err.code !== "ECONNRESET") return reject(err);
      setTimeout(() => resolve({ status: 0, text: `no answer before ${err.code}` }), 2_000).unref();
    });
    if (!body) {
      req.flushHeaders();
      return;
    }
    let sent = 0;
    const pump = (): void => {
      while (sent < body.times) {
        sent++;
        if (!req.write(body.chunk)) {
          req.once("drain", pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}

test("a Content-Length over the limit is 413 before the key is checked, and the body is never read", async () => {
  const started = performance.now();
  for (const path of ["/api/profiles", "/api/emails", "/api/mailboxes/bulk", "/admin/functions/mailboxScheduler"]) {
    const res = await raw("POST", path, { "content-type": "application/json", "content-length": String(MAX_REQUEST_BODY_BYTES + 1) });
    assert.equal(res.status, 413, `${path}: ${res.text}`);
    assert.equal(JSON.parse(res.text).error.code, "PAYLOAD_TOO_LARGE");
  }
  // Easy Auth parsing is not reached either: a principal header changes nothing.
  const principal = Buffer.from(JSON.stringify({ claims: [{ typ: "roles", val: "Email.Admin" }] })).toString("base64");
  const withPrincipal = await raw("PUT", "/api/settings", { "content-length": "999999999999", "x-ms-client-principal": principal });
  assert.equal(withPrincipal.status, 413);
  assert.ok(performance.now() - started < 5_000, "answered without waiting for a body that never comes");
});

test("a chunked body that grows past the limit is cut off at the limit with 413", async () => {
  const chunk = Buffer.alloc(1024 * 1024, 0x20);
  const times = MAX_REQUEST_BODY_BYTES / chunk.length + 8;
  const res = await raw("POST", "/api/profiles", { "content-type": "application/json", "transfer-encoding": "chunked" }, { chunk, times });
  assert.equal(res.status, 413, res.text);
  assert.equal(JSON.parse(res.text).error.code, "PAYLOAD_TOO_LARGE");
});

test("the route layer (what the Functions host calls) refuses from Content-Length before auth, and while streaming", async () => {
  const def = definitions.find((d): d is HttpFunctionDefinition => d.kind === "http" && d.name === "profilesCreate");
  assert.ok(def, "profilesCreate is registered");
  const request = new functions.HttpRequest({
    method: "POST", url: "http://localhost/api/profiles",
    headers: { "content-length": String(MAX_REQUEST_BODY_BYTES + 1) }, body: { string: "{}" },
  });
  const res = await def.handler(request, new functions.InvocationContext());
  assert.equal(res.status, 413, "413, not 401: no key was sent");
  assert.equal((res.jsonBody as { error: { code: string } }).error.code, "PAYLOAD_TOO_LARGE");

  const streamed = new functions.HttpRequest({ method: "POST", url: "http://localhost/api/profiles", body: { string: "x".repeat(5000) } });
  await assert.rejects(readBodyText(streamed, 4096), (err) => isAppError(err) && err.code === "PAYLOAD_TOO_LARGE");
  const fits = new functions.HttpRequest({ method: "POST", url: "http://localhost/api/profiles", body: { string: "é".repeat(2000) } });
  assert.equal(await readBodyText(fits, 4096), "é".repeat(2000));
});

test("a malformed continuationToken is 400 VALIDATION_FAILED naming it, on every list route", async () => {
  const tokens = ["bogus!", "notbase64@@", Buffer.from("not json").toString("base64"), Buffer.from("[1,2]").toString("base64"),
    Buffer.from(JSON.stringify({ nextPartitionKey: 7 })).toString("base64"), "x".repeat(4000)];
  const lists = ["/api/profiles", "/api/mailboxes", `/api/emails?mailboxId=${mailboxId}`, "/api/emails", "/api/alerts", "/api/contacts"];
  for (const list of lists) {
    for (const token of tokens) {
      const res = await app.call("GET", `${list}${list.includes("?") ? "&" : "?"}continuationToken=${encodeURIComponent(token)}`);
      assert.equal(res.status, 400, `${list} ${token.slice(0, 20)}: ${res.text}`);
      assert.equal(res.body.error.code, "VALIDATION_FAILED");
      assert.deepEqual(res.body.error.details.map((d: { path: string }) => d.path), ["continuationToken"]);
    }
  }
  // A token the API itself returned still works.
  for (let i = 0; i < 3; i++) await app.call("POST", "/api/contacts", { body: { type: "contact", name: `C${i}`, emailAddress: `c${i}@example.test` } });
  const first = await app.call("GET", "/api/contacts?top=1");
  assert.equal(typeof first.body.continuationToken, "string");
  const next = await app.call("GET", `/api/contacts?top=1&continuationToken=${encodeURIComponent(first.body.continuationToken)}`);
  assert.equal(next.status, 200, next.text);
  assert.equal(next.body.items.length, 1);
});

async function outgoingState(): Promise<{ blobs: number; emails: number }> {
  let blobs = 0;
  for await (const _ of app.services.storage.blobs.getContainerClient(CONTAINERS.rawMessages).listBlobsFlat()) blobs++;
  let emails = 0;
  for await (const _ of app.services.storage.table(TABLES.emails).listEntities()) emails++;
  return { blobs, emails };
}

test("a malformed Idempotency-Key is 400 and writes nothing; the longest valid one works", async () => {
  const body = { mailboxId, to: ["x@example.test"], subject: "bounded", text: "hello" };
  const before = await outgoingState();
  for (const key of ["k".repeat(256), "k".repeat(20_000), "line\tbreak", "é", ""]) {
    const res = await app.call("POST", "/api/emails", { body, headers: { "Idempotency-Key": key } });
    assert.equal(res.status, key.length > 16_000 ? 431 : 400, `${key.slice(0, 10)}…(${key.length}): ${res.text}`);
    if (res.status === 400) assert.deepEqual(res.body.error.details.map((d: { path: string }) => d.path), ["Idempotency-Key"]);
  }
  assert.deepEqual(await outgoingState(), before, "no blob and no entity from a refused request");
  // 255 printable characters, the ones that need encoding in a table key among them.
  const longest = "%/\\#?'\"".repeat(37).slice(0, 254) + "z";
  const ok = await app.call("POST", "/api/emails", { body, headers: { "Idempotency-Key": longest } });
  assert.equal(ok.status, 201, ok.text);
  const again = await app.call("POST", "/api/emails", { body, headers: { "Idempotency-Key": longest } });
  assert.equal(again.status, 201, again.text);
  assert.equal(again.body.id, ok.body.id);
  assert.equal(again.headers.get("idempotent-replayed"), "true");
});

test("MALFORMED_JSON never quotes the body", async () => {
  const secret = "hunter2-Sup3rSecret";
  for (const rawBody of [`{"name":"x","credentials":{"userName":"a","password":"${secret}"`, `{"password": ${secret}}`, `${secret}`, `{"a":1}${secret}`]) {
    const res = await app.call("POST", "/api/profiles", { rawBody, headers: { "content-type": "application/json" } });
    assert.equal(res.status, 400, res.text);
    assert.equal(res.body.error.code, "MALFORMED_JSON");
    for (let i = 0; i + 4 <= secret.length; i++) assert.ok(!res.text.includes(secret.slice(i, i + 4)), `echoes "${secret.slice(i, i + 4)}": ${res.text}`);
  }
});
