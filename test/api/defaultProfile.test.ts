/**
 * Issue 11, smaller points: "the default profile is applied whatever the method". A new mailbox
 * gets settings.defaultProfileId only when the app connects for it in a direction (a method is
 * serverSideSync); one that forwards or does nothing gets none unless it names one.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { sampleProfile, startTestApp, type TestApp } from "../support/app.js";

let app: TestApp;
let defaultId: string;
let otherId: string;
before(async () => {
  app = await startTestApp();
  defaultId = (await app.call("POST", "/api/profiles", { body: sampleProfile({ name: "Default" }) })).body.id;
  otherId = (await app.call("POST", "/api/profiles", { body: sampleProfile({ name: "Other" }) })).body.id;
  assert.equal((await app.call("PATCH", "/api/settings", { body: { defaultProfileId: defaultId } })).status, 200);
});
after(async () => { await app?.stop(); });

async function created(name: string, body: Record<string, unknown>): Promise<string | null> {
  const res = await app.call("POST", "/api/mailboxes", { body: { owner: { type: "queue", id: `q-${name}` }, emailAddress: `${name}@contoso.test`, ...body } });
  assert.equal(res.status, 201, res.text);
  return res.body.profileId;
}

test("no method syncs: no default profile", async () => {
  assert.equal(await created("none-none", { incomingMethod: "none", outgoingMethod: "none" }), null);
  assert.equal(await created("fwd-none", { incomingMethod: "forwardMailbox", outgoingMethod: "none" }), null);
});

test("either direction syncs: the default profile", async () => {
  assert.equal(await created("sync-none", { incomingMethod: "serverSideSync", outgoingMethod: "none" }), defaultId);
  assert.equal(await created("none-sync", { incomingMethod: "none", outgoingMethod: "serverSideSync" }), defaultId);
  assert.equal(await created("defaults", {}), defaultId, "the org's default methods are serverSideSync");
});

test("the org's default methods count as the mailbox's", async () => {
  assert.equal((await app.call("PATCH", "/api/settings", { body: { defaultIncomingMethod: "none", defaultOutgoingMethod: "none" } })).status, 200);
  try {
    assert.equal(await created("org-none", {}), null);
    assert.equal(await created("org-none-but-sync", { outgoingMethod: "serverSideSync" }), defaultId);
  } finally {
    await app.call("PATCH", "/api/settings", { body: { defaultIncomingMethod: "serverSideSync", defaultOutgoingMethod: "serverSideSync" } });
  }
});

test("a profile the request names is kept whatever the method", async () => {
  assert.equal(await created("named", { incomingMethod: "none", outgoingMethod: "none", profileId: otherId }), otherId);
  assert.equal(await created("named-null", { profileId: null }), null);
});
