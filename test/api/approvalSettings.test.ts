/**
 * Whether email is processed only for approved mailboxes is the approver's to change (issue 10,
 * point 3): an admin key cannot lift (or set) processEmailOnlyForApprovedUsers/Queues, by PUT or
 * PATCH; sending the unchanged value is fine; the master key or Email.Approver can.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startTestApp, MASTER_KEY, type TestApp } from "../support/app.js";

let app: TestApp;
before(async () => { app = await startTestApp(); });
after(async () => { await app?.stop(); });

const principal = (...roles: string[]): Record<string, string> => ({
  "x-ms-client-principal": Buffer.from(JSON.stringify({ claims: roles.map((val) => ({ typ: "roles", val })) })).toString("base64"),
});

async function current(): Promise<Record<string, unknown>> {
  const { etag: _e, updatedAt: _u, ...doc } = (await app.call("GET", "/api/settings", { key: MASTER_KEY })).body as Record<string, unknown>;
  return doc;
}

function assertForbidden(res: { status: number; body: any; text: string }, ...fields: string[]): void {
  assert.equal(res.status, 403, res.text);
  assert.equal(res.body.error.code, "FORBIDDEN");
  for (const f of fields) assert.ok(res.body.error.message.includes(f), res.body.error.message);
  assert.match(res.body.error.message, /approver role/);
  assert.deepEqual(res.body.error.details.map((d: any) => d.path), fields);
}

test("an admin key cannot change either approval setting by PATCH, and nothing is saved", async () => {
  const before = await current();
  assertForbidden(await app.call("PATCH", "/api/settings", { body: { processEmailOnlyForApprovedUsers: false } }), "processEmailOnlyForApprovedUsers");
  assertForbidden(await app.call("PATCH", "/api/settings", { body: { processEmailOnlyForApprovedQueues: false, useCorrelation: false } }),
    "processEmailOnlyForApprovedQueues");
  assertForbidden(await app.call("PATCH", "/api/settings", { body: { processEmailOnlyForApprovedUsers: false, processEmailOnlyForApprovedQueues: false } }),
    "processEmailOnlyForApprovedUsers", "processEmailOnlyForApprovedQueues");
  assert.deepEqual(await current(), before, "a refused request changes nothing, not even its other fields");
});

test("an admin key may send the unchanged values, by PATCH and by PUT", async () => {
  const patched = await app.call("PATCH", "/api/settings", { body: { processEmailOnlyForApprovedUsers: true, processEmailOnlyForApprovedQueues: true, useCorrelation: false } });
  assert.equal(patched.status, 200, patched.text);
  assert.equal(patched.body.useCorrelation, false);
  const doc = await current();
  const put = await app.call("PUT", "/api/settings", { body: { ...doc, useCorrelation: true } });
  assert.equal(put.status, 200, put.text);
  assert.equal(put.body.useCorrelation, true);
});

test("an admin key cannot change them by PUT either", async () => {
  const doc = await current();
  assertForbidden(await app.call("PUT", "/api/settings", { body: { ...doc, processEmailOnlyForApprovedQueues: false } }), "processEmailOnlyForApprovedQueues");
});

test("the master key changes them, and an admin key cannot change them back", async () => {
  const relaxed = await app.call("PATCH", "/api/settings", { key: MASTER_KEY, body: { processEmailOnlyForApprovedUsers: false } });
  assert.equal(relaxed.status, 200, relaxed.text);
  assert.equal(relaxed.body.processEmailOnlyForApprovedUsers, false);
  // Tightening is a change too: the approver owns the setting either way.
  assertForbidden(await app.call("PATCH", "/api/settings", { body: { processEmailOnlyForApprovedUsers: true } }), "processEmailOnlyForApprovedUsers");
  // The unchanged (now false) value is fine for the admin.
  assert.equal((await app.call("PATCH", "/api/settings", { body: { processEmailOnlyForApprovedUsers: false } })).status, 200);
  const doc = await current();
  const put = await app.call("PUT", "/api/settings", { key: MASTER_KEY, body: { ...doc, processEmailOnlyForApprovedUsers: true } });
  assert.equal(put.status, 200, put.text);
  assert.equal(put.body.processEmailOnlyForApprovedUsers, true);
});

test("behind Easy Auth: Email.Approver may change them, Email.Admin alone may not", async () => {
  process.env.WEBSITE_AUTH_ENABLED = "true";
  try {
    const admin = await app.call("PATCH", "/api/settings", { key: null, headers: principal("Email.Admin"), body: { processEmailOnlyForApprovedQueues: false } });
    assertForbidden(admin, "processEmailOnlyForApprovedQueues");
    const both = principal("Email.Admin", "Email.Approver");
    const ok = await app.call("PATCH", "/api/settings", { key: null, headers: both, body: { processEmailOnlyForApprovedQueues: false } });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.processEmailOnlyForApprovedQueues, false);
    const back = await app.call("PATCH", "/api/settings", { key: null, headers: both, body: { processEmailOnlyForApprovedQueues: true } });
    assert.equal(back.status, 200, back.text);
  } finally {
    delete process.env.WEBSITE_AUTH_ENABLED;
  }
});

test("a forged principal header without Easy Auth gives no role at all", async () => {
  const res = await app.call("PATCH", "/api/settings", { key: null, headers: principal("Email.Admin", "Email.Approver"), body: { processEmailOnlyForApprovedQueues: false } });
  assert.equal(res.status, 401);
  assert.equal((await current()).processEmailOnlyForApprovedQueues, true);
});
