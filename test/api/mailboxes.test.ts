import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startTestApp, sampleProfile, MASTER_KEY, type TestApp } from "../support/app.js";

let app: TestApp;
let profileId: string;
before(async () => {
  app = await startTestApp();
  profileId = (await app.call("POST", "/api/profiles", { body: sampleProfile({ name: "Mailbox profile" }) })).body.id;
});
after(async () => { await app?.stop(); });

describe("mailboxes", () => {
  test("create applies defaults from settings and owner type, and hides the password", async () => {
    const set = await app.call("PATCH", "/api/settings", { body: { defaultProfileId: profileId } });
    assert.equal(set.status, 200, set.text);
    const res = await app.call("POST", "/api/mailboxes", {
      body: { owner: { type: "user", id: "u-42", name: "Alice" }, emailAddress: "Alice@Contoso.test", credentials: { userName: "alice", password: "alice-pw-1" } },
    });
    assert.equal(res.status, 201, res.text);
    const m = res.body;
    assert.equal(m.emailAddress, "alice@contoso.test");
    assert.equal(m.profileId, profileId);
    assert.equal(m.incomingMethod, "serverSideSync");
    assert.equal(m.outgoingMethod, "serverSideSync");
    assert.equal(m.incomingFilter, "responsesToTracked");
    assert.equal(m.approval, "pendingApproval");
    assert.equal(m.incomingStatus, "notRun");
    assert.equal(m.enabledForIncoming, false);
    assert.deepEqual(m.credentials, { userName: "alice", hasPassword: true });
    assert.deepEqual(m.stats, { received: 0, sent: 0, failed: 0, skipped: 0, quarantined: 0 });
    assert.ok(!res.text.includes("alice-pw-1"));
    const queue = await app.call("POST", "/api/mailboxes", { body: { owner: { type: "queue", id: "q-1" }, emailAddress: "sales@contoso.test" } });
    assert.equal(queue.body.incomingFilter, "all");
  });

  test("one mailbox per owner and per address", async () => {
    const base = { owner: { type: "user", id: "u-dupe" }, emailAddress: "dupe@contoso.test" };
    assert.equal((await app.call("POST", "/api/mailboxes", { body: base })).status, 201);
    const sameAddress = await app.call("POST", "/api/mailboxes", { body: { ...base, owner: { type: "user", id: "u-other" } } });
    assert.equal(sameAddress.status, 409);
    assert.match(sameAddress.body.error.message, /dupe@contoso.test/);
    const sameOwner = await app.call("POST", "/api/mailboxes", { body: { ...base, emailAddress: "other@contoso.test" } });
    assert.equal(sameOwner.status, 409);
    assert.match(sameOwner.body.error.message, /one mailbox per owner/);
  });

  test("validation: delete-after-processing for users, bad address, unknown profile", async () => {
    const res = await app.call("POST", "/api/mailboxes", {
      body: { owner: { type: "user", id: "u-val" }, emailAddress: "val@contoso.test", deleteEmailsAfterProcessing: true },
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.details[0].path, "deleteEmailsAfterProcessing");
    const bad = await app.call("POST", "/api/mailboxes", { body: { owner: { type: "robot", id: "x" }, emailAddress: "not an address\r\n" } });
    assert.equal(bad.status, 400);
    const paths = bad.body.error.details.map((d: { path: string }) => d.path).sort();
    assert.deepEqual(paths, ["emailAddress", "owner.type"]);
    const noProfile = await app.call("POST", "/api/mailboxes", { body: { owner: { type: "queue", id: "q-np" }, emailAddress: "np@contoso.test", profileId: "missing" } });
    assert.equal(noProfile.status, 400);
    assert.equal(noProfile.body.error.details[0].path, "profileId");
    const list = await app.call("GET", "/api/mailboxes?top=1000");
    assert.ok(!list.body.items.some((m: { emailAddress: string }) => m.emailAddress === "val@contoso.test" || m.emailAddress === "np@contoso.test"));
  });

  test("filters: profileId, ownerType, approval, incomingStatus", async () => {
    const q = await app.call("POST", "/api/mailboxes", { body: { owner: { type: "queue", id: "q-filter" }, emailAddress: "filter@contoso.test", profileId } });
    await app.call("POST", `/api/mailboxes/${q.body.id}/approve`, { key: MASTER_KEY });
    const approvedQueues = await app.call("GET", `/api/mailboxes?ownerType=queue&approval=approved&profileId=${profileId}`);
    assert.equal(approvedQueues.status, 200);
    assert.deepEqual(approvedQueues.body.items.map((m: { id: string }) => m.id), [q.body.id]);
    const notRun = await app.call("GET", "/api/mailboxes?incomingStatus=notRun&top=1000");
    assert.ok(notRun.body.items.length >= 2);
    const bad = await app.call("GET", "/api/mailboxes?approval=maybe");
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.details[0].path, "approval");
  });

  test("changing the address resets Test & Enable status and approval; credentials changes too", async () => {
    const c = await app.call("POST", "/api/mailboxes", { body: { owner: { type: "queue", id: "q-reset" }, emailAddress: "reset@contoso.test", profileId } });
    await app.call("POST", `/api/mailboxes/${c.body.id}/approve`, { key: MASTER_KEY });
    // Pretend a Test & Enable passed.
    await app.services.repos.mailboxes.update(c.body.id, (m) => ({ ...m, incoming: { ...m.incoming, status: "success", enabled: true }, outgoing: { ...m.outgoing, status: "success", enabled: true } }));
    const same = await app.call("PATCH", `/api/mailboxes/${c.body.id}`, { body: { incomingFilter: "none", incomingStatus: "failure" } });
    assert.equal(same.status, 200, same.text);
    assert.equal(same.body.enabledForIncoming, true);
    assert.equal(same.body.incomingStatus, "success"); // read-only field sent back is ignored
    const moved = await app.call("PATCH", `/api/mailboxes/${c.body.id}`, { body: { emailAddress: "reset2@contoso.test" } });
    assert.equal(moved.body.enabledForIncoming, false);
    assert.equal(moved.body.incomingStatus, "notRun");
    assert.equal(moved.body.approval, "pendingApproval");
    // The old address is free again, the new one taken.
    assert.equal((await app.call("POST", "/api/mailboxes", { body: { owner: { type: "queue", id: "q-reuse" }, emailAddress: "reset@contoso.test" } })).status, 201);
    assert.equal((await app.call("POST", "/api/mailboxes", { body: { owner: { type: "queue", id: "q-reuse2" }, emailAddress: "reset2@contoso.test" } })).status, 409);
  });

  test("a profile connection change resets its mailboxes", async () => {
    const p = await app.call("POST", "/api/profiles", { body: sampleProfile({ name: "Reset profile" }) });
    const m = await app.call("POST", "/api/mailboxes", { body: { owner: { type: "queue", id: "q-prof" }, emailAddress: "prof@contoso.test", profileId: p.body.id } });
    await app.services.repos.mailboxes.update(m.body.id, (x) => ({ ...x, incoming: { ...x.incoming, status: "success", enabled: true } }));
    await app.call("PATCH", `/api/profiles/${p.body.id}`, { body: { description: "not a connection change" } });
    assert.equal((await app.call("GET", `/api/mailboxes/${m.body.id}`)).body.enabledForIncoming, true);
    await app.call("PATCH", `/api/profiles/${p.body.id}`, { body: { incoming: { host: "pop2.contoso.test" } } });
    const after = await app.call("GET", `/api/mailboxes/${m.body.id}`);
    assert.equal(after.body.enabledForIncoming, false);
    assert.equal(after.body.incomingStatus, "notRun");
  });

  test("404s and stale If-Match on mailboxes", async () => {
    assert.equal((await app.call("GET", "/api/mailboxes/does-not-exist")).status, 404);
    assert.equal((await app.call("PATCH", "/api/mailboxes/does-not-exist", { body: { active: false } })).status, 404);
    assert.equal((await app.call("POST", "/api/mailboxes/does-not-exist/approve", { key: MASTER_KEY })).status, 404);
    const m = await app.call("POST", "/api/mailboxes", { body: { owner: { type: "queue", id: "q-etag" }, emailAddress: "etag@contoso.test" } });
    await app.call("PATCH", `/api/mailboxes/${m.body.id}`, { body: { active: false } });
    const stale = await app.call("DELETE", `/api/mailboxes/${m.body.id}`, { headers: { "if-match": m.body.etag } });
    assert.equal(stale.status, 412);
  });
});
