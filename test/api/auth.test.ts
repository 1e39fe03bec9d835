import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startTestApp, MASTER_KEY, type TestApp } from "../support/app.js";

let app: TestApp;
before(async () => { app = await startTestApp(); });
after(async () => { await app?.stop(); });

test("no key is 401, a wrong key is 401, health needs none", async () => {
  const none = await app.call("GET", "/api/profiles", { key: null });
  assert.equal(none.status, 401);
  assert.equal(none.body.error.code, "UNAUTHORIZED");
  assert.equal((await app.call("GET", "/api/profiles", { key: "wrong-key-000" })).status, 401);
  const health = await app.call("GET", "/api/health", { key: null });
  assert.equal(health.status, 200);
  assert.deepEqual(health.body, { status: "ok" }, "strangers get the status only");
});

test("the key works as ?code= too", async () => {
  const res = await app.call("GET", `/api/profiles?code=${encodeURIComponent(app.settings.API_KEY!)}`, { key: null });
  assert.equal(res.status, 200);
});

test("approve needs the approver role: function key 403, master key 200", async () => {
  const m = await app.call("POST", "/api/mailboxes", { body: { owner: { type: "queue", id: "q-auth" }, emailAddress: "support@contoso.test" } });
  assert.equal(m.status, 201, m.text);
  assert.equal(m.body.approval, "pendingApproval");
  const forbidden = await app.call("POST", `/api/mailboxes/${m.body.id}/approve`);
  assert.equal(forbidden.status, 403);
  assert.equal(forbidden.body.error.code, "FORBIDDEN");
  const ok = await app.call("POST", `/api/mailboxes/${m.body.id}/approve`, { key: MASTER_KEY });
  assert.equal(ok.status, 200);
  assert.equal(ok.body.approval, "approved");
  const rejected = await app.call("POST", `/api/mailboxes/${m.body.id}/reject`, { key: MASTER_KEY });
  assert.equal(rejected.body.approval, "rejected");
});

test("Easy Auth roles count only when App Service Authentication is on", async () => {
  const principal = Buffer.from(JSON.stringify({ claims: [{ typ: "roles", val: "Email.Admin" }] })).toString("base64");
  const spoofed = await app.call("GET", "/api/profiles", { key: null, headers: { "x-ms-client-principal": principal } });
  assert.equal(spoofed.status, 401);
  process.env.WEBSITE_AUTH_ENABLED = "True";
  try {
    const ok = await app.call("GET", "/api/profiles", { key: null, headers: { "x-ms-client-principal": principal } });
    assert.equal(ok.status, 200);
    const m = await app.call("POST", "/api/mailboxes", { body: { owner: { type: "queue", id: "q-easy" }, emailAddress: "easy@contoso.test" } });
    const noApprover = await app.call("POST", `/api/mailboxes/${m.body.id}/approve`, { key: null, headers: { "x-ms-client-principal": principal } });
    assert.equal(noApprover.status, 403);
  } finally {
    delete process.env.WEBSITE_AUTH_ENABLED;
  }
});

test("unknown routes are 404 and wrong methods 405", async () => {
  assert.equal((await app.call("GET", "/api/nothing-here")).status, 404);
  assert.equal((await app.call("PUT", "/api/profiles")).status, 405);
});
