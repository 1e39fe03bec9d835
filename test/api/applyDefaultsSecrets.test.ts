/**
 * Apply Default Settings moves mailboxes to the org's default profile: like a PATCH of profileId,
 * it may not send a stored password to another server on the admin key alone (decision 0014).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { MASTER_KEY, startTestApp, type TestApp } from "../support/app.js";

let app: TestApp;
before(async () => { app = await startTestApp(); });
after(async () => { await app?.stop(); });

async function profile(name: string, host: string): Promise<string> {
  const res = await app.call("POST", "/api/profiles", { body: { name, incoming: { host, useSsl: true }, outgoing: { host, useSsl: true } } });
  assert.equal(res.status, 201, res.text);
  return res.body.id as string;
}

test("apply-default-settings to a profile on another server needs re-entry or the approver; nothing moves on refusal", async () => {
  const own = await profile("Own server", "pop.own.test");
  const other = await profile("Default elsewhere", "pop.elsewhere.test");
  const m = await app.call("POST", "/api/mailboxes", {
    body: { owner: { type: "queue", id: "q-defaults" }, emailAddress: "defaults@contoso.test", profileId: own, credentials: { userName: "q", password: "q-pass-123" } },
  });
  assert.equal(m.status, 201, m.text);
  assert.equal((await app.call("PATCH", "/api/settings", { body: { defaultProfileId: other } })).status, 200);

  const refused = await app.call("POST", "/api/mailboxes/apply-default-settings", { body: { mailboxIds: [m.body.id] } });
  assert.equal(refused.status, 400, refused.text);
  assert.equal(refused.body.error.code, "SECRET_REENTRY_REQUIRED");
  assert.deepEqual(refused.body.error.details.map((d: any) => d.path), [`mailboxes[${m.body.id}].credentials.password`]);
  assert.equal((await app.call("GET", `/api/mailboxes/${m.body.id}`)).body.profileId, own, "nothing moved");

  const approved = await app.call("POST", "/api/mailboxes/apply-default-settings", { body: { mailboxIds: [m.body.id] }, key: MASTER_KEY });
  assert.equal(approved.status, 202, approved.text);
});
