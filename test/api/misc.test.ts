import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { sampleProfile, startTestApp, type TestApp } from "../support/app.js";
import { raiseAlert } from "../../shared/sync/alerts.js";

let app: TestApp;
before(async () => { app = await startTestApp(); });
after(async () => { await app?.stop(); });

test("settings: defaults, PATCH merges nested objects, PUT needs the whole document, If-Match", async () => {
  const got = await app.call("GET", "/api/settings");
  assert.equal(got.status, 200);
  assert.equal(got.body.trackingToken.prefix, "CRM:");
  assert.equal(got.body.maxAttachmentSizeKb, 5120);
  assert.deepEqual(got.body.alerts, { error: true, warning: false, information: true, notifyMailboxOwner: false });
  const patched = await app.call("PATCH", "/api/settings", { body: { trackingToken: { prefix: "TT:" }, alerts: { warning: true } } });
  assert.equal(patched.status, 200, patched.text);
  assert.equal(patched.body.trackingToken.prefix, "TT:");
  assert.equal(patched.body.trackingToken.userDigits, 3);
  assert.equal(patched.body.alerts.warning, true);
  assert.equal(patched.body.alerts.error, true);
  const partialPut = await app.call("PUT", "/api/settings", { body: { useCorrelation: false } });
  assert.equal(partialPut.status, 400);
  const { etag, updatedAt: _u, ...doc } = patched.body;
  const put = await app.call("PUT", "/api/settings", { body: { ...doc, useCorrelation: false }, headers: { "if-match": etag } });
  assert.equal(put.status, 200, put.text);
  assert.equal(put.body.useCorrelation, false);
  const stale = await app.call("PUT", "/api/settings", { body: { ...doc }, headers: { "if-match": etag } });
  assert.equal(stale.status, 412);
  const bad = await app.call("PATCH", "/api/settings", { body: { trackingToken: { userDigits: 12 }, defaultIncomingMethod: "outlook" } });
  assert.equal(bad.status, 400);
  assert.deepEqual(bad.body.error.details.map((d: { path: string }) => d.path).sort(), ["defaultIncomingMethod", "trackingToken.userDigits"]);
  const noProfile = await app.call("PATCH", "/api/settings", { body: { defaultProfileId: "nope" } });
  assert.equal(noProfile.status, 400);
});

test("settings: concurrent PATCHes without If-Match all land; none gets a 412 it did not ask for", async () => {
  const original = (await app.call("GET", "/api/settings")).body;
  const changes = [
    { maxAttachmentSizeKb: 4000 }, { maxMessageSizeKb: 30000 }, { trackingToken: { prefix: "RACE:" } },
    { trackingToken: { counterDigits: 4 } }, { alerts: { information: false } }, { useCorrelation: !original.useCorrelation },
  ];
  const results = await Promise.all(changes.map((body) => app.call("PATCH", "/api/settings", { body })));
  assert.deepEqual(results.map((r) => r.status), changes.map(() => 200), results.map((r) => r.text).join("\n"));
  const after = (await app.call("GET", "/api/settings")).body;
  assert.equal(after.maxAttachmentSizeKb, 4000);
  assert.equal(after.maxMessageSizeKb, 30000);
  assert.equal(after.trackingToken.prefix, "RACE:");
  assert.equal(after.trackingToken.counterDigits, 4);
  assert.equal(after.alerts.information, false);
  assert.equal(after.useCorrelation, !original.useCorrelation);
  const { etag: _e, updatedAt: _u, ...doc } = original;
  assert.equal((await app.call("PUT", "/api/settings", { body: doc })).status, 200);
});

test("contacts: create, list, delete, validation", async () => {
  const c = await app.call("POST", "/api/contacts", { body: { type: "lead", name: "Bob", emailAddress: "bob@fabrikam.test" } });
  assert.equal(c.status, 201, c.text);
  assert.equal(c.body.type, "lead");
  const list = await app.call("GET", "/api/contacts");
  assert.ok(list.body.items.some((x: { id: string }) => x.id === c.body.id));
  assert.deepEqual(await app.services.repos.contacts.idsByLookup("address:bob@fabrikam.test"), [c.body.id]);
  const bad = await app.call("POST", "/api/contacts", { body: { type: "person", name: "X", emailAddress: "x@y.test" } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.details[0].path, "type");
  assert.equal((await app.call("DELETE", `/api/contacts/${c.body.id}`)).status, 204);
  assert.equal((await app.call("DELETE", `/api/contacts/${c.body.id}`)).status, 404);
  assert.deepEqual(await app.services.repos.contacts.idsByLookup("address:bob@fabrikam.test"), []);
});

test("alerts: newest first, filtered, and folded", async () => {
  const t0 = new Date("2026-11-22T10:00:00.000Z");
  await app.services.alerts.add({ level: "error", code: "AUTH_FAILED", message: "one", mailboxId: "m1" }, t0);
  await app.services.alerts.add({ level: "warning", code: "SERVER_BUSY", message: "two", mailboxId: "m2", profileId: "p1" }, new Date(t0.getTime() + 1000));
  await app.services.alerts.add({ level: "warning", code: "SERVER_BUSY", message: "three", mailboxId: "m2", profileId: "p1" }, new Date(t0.getTime() + 2000), "m2:SERVER_BUSY");
  await app.services.alerts.add({ level: "warning", code: "SERVER_BUSY", message: "three again", mailboxId: "m2", profileId: "p1" }, new Date(t0.getTime() + 3000), "m2:SERVER_BUSY");
  const all = await app.call("GET", "/api/alerts");
  assert.equal(all.status, 200);
  assert.deepEqual(all.body.items.map((a: { message: string }) => a.message), ["three again", "two", "one"]);
  assert.equal(all.body.items[0].count, 2);
  assert.equal(all.body.items[0].lastAt, "2026-11-22T10:00:03.000Z");
  const m1 = await app.call("GET", "/api/alerts?mailboxId=m1");
  assert.deepEqual(m1.body.items.map((a: { code: string }) => a.code), ["AUTH_FAILED"]);
  const warnings = await app.call("GET", "/api/alerts?level=warning&profileId=p1");
  assert.equal(warnings.body.items.length, 2);
  assert.equal((await app.call("GET", "/api/alerts?level=fatal")).status, 400);
});

test("alerts: with notifyMailboxOwner an alert about a mailbox is on its owner's wall too", async () => {
  const profile = await app.call("POST", "/api/profiles", { body: sampleProfile({ name: "Owner wall" }) });
  const mailbox = await app.call("POST", "/api/mailboxes", {
    body: { owner: { type: "user", id: "u-wall", name: "Wally" }, emailAddress: "wally@contoso.test", profileId: profile.body.id },
  });
  assert.equal(mailbox.status, 201, mailbox.text);
  const id: string = mailbox.body.id;
  const wall = async (): Promise<Array<{ code: string; owner: unknown; count: number }>> => {
    const res = await app.call("GET", "/api/alerts?ownerType=user&ownerId=u-wall");
    assert.equal(res.status, 200, res.text);
    return res.body.items;
  };
  await raiseAlert(app.services, { level: "error", code: "AUTH_FAILED", message: "before", mailboxId: id });
  assert.deepEqual(await wall(), [], "off by default: the alert is the admin's only");
  assert.equal((await app.call("GET", `/api/alerts?mailboxId=${id}`)).body.items[0].owner, null);

  await app.call("PATCH", "/api/settings", { body: { alerts: { notifyMailboxOwner: true } } });
  await raiseAlert(app.services, { level: "error", code: "TLS_CERTIFICATE_UNTRUSTED", message: "on", mailboxId: id });
  await raiseAlert(app.services, { level: "error", code: "AUTH_FAILED", message: "again", mailboxId: id });
  await raiseAlert(app.services, { level: "error", code: "AUTH_FAILED", message: "someone else's", mailboxId: "another-mailbox" });
  const items = await wall();
  assert.deepEqual(items.map((a) => a.code).sort(), ["AUTH_FAILED", "TLS_CERTIFICATE_UNTRUSTED"]);
  assert.deepEqual(items[0]?.owner, { type: "user", id: "u-wall" });
  assert.equal(items.find((a) => a.code === "AUTH_FAILED")?.count, 2, "the repeat folded into the alert raised before, now on the wall");
  assert.deepEqual((await app.call("GET", "/api/alerts?ownerType=queue&ownerId=u-wall")).body.items, []);
  assert.equal((await app.call("GET", "/api/alerts?ownerType=team&ownerId=u-wall")).status, 400);
  await app.call("PATCH", "/api/settings", { body: { alerts: { notifyMailboxOwner: false } } });
});

test("jobs: 404 for unknown ids, a stored job reads back with its results", async () => {
  assert.equal((await app.call("GET", "/api/jobs/not-a-uuid")).status, 404);
  assert.equal((await app.call("GET", "/api/jobs/7d3f2c1e-0000-4000-8000-000000000000")).status, 404);
  const id = "7d3f2c1e-0000-4000-8000-000000000001";
  await app.services.jobs.create({ id, kind: "testProfile", status: "running", total: 2, done: 1, createdAt: "2026-11-22T10:00:00.000Z", updatedAt: "2026-11-22T10:00:00.000Z", profileId: "p1", error: null, fanoutComplete: true });
  await app.services.jobs.putResult(id, { mailboxId: "m1", incomingStatus: "success", outgoingStatus: "failure", error: { code: "AUTH_FAILED", message: "wrong password", transient: false } });
  const job = await app.call("GET", `/api/jobs/${id}`);
  assert.equal(job.status, 200);
  assert.equal(job.body.kind, "testProfile");
  assert.equal(job.body.results.length, 1);
  assert.equal(job.body.results[0].outgoingStatus, "failure");
});

test("openapi.json documents every route with its schemas", async () => {
  const res = await app.call("GET", "/api/openapi.json");
  assert.equal(res.status, 200);
  assert.equal(res.body.openapi, "3.1.0");
  const paths = Object.keys(res.body.paths);
  for (const p of ["/api/settings", "/api/profiles", "/api/profiles/{id}", "/api/mailboxes", "/api/mailboxes/{id}", "/api/mailboxes/{id}/approve", "/api/mailboxes/{id}/reject", "/api/contacts", "/api/contacts/{id}", "/api/alerts", "/api/jobs/{id}", "/api/health", "/api/openapi.json"]) {
    assert.ok(paths.includes(p), `missing ${p}`);
  }
  const create = res.body.paths["/api/profiles"].post;
  assert.ok(create.requestBody.content["application/json"].schema.properties.incoming);
  assert.equal(create.requestBody.content["application/json"].schema.additionalProperties, false);
  assert.ok(create.responses["400"] && create.responses["201"]);
});
