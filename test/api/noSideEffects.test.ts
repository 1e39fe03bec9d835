/**
 * A refused request changes no stored secret (issue 10, point 5). The embedded secret store is
 * listed (names and sealed values) before and after every refused create and update, each of
 * which carries a new password: 400, 409, 412 and SECRET_REENTRY_REQUIRED leave it exactly as it
 * was. Races that pass the checks and lose at the commit delete what they wrote: concurrent
 * creates of one address grow the store by one secret, and concurrent updates of one mailbox
 * leave exactly one secret for it, holding the winner's password.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { MASTER_KEY, sampleProfile, startTestApp, type TestApp } from "../support/app.js";
import { TABLES } from "../../shared/storage/names.js";

let app: TestApp;
before(async () => { app = await startTestApp(); });
after(async () => { await app?.stop(); });

/** Every row of the embedded store: name and sealed value, so a replaced value shows too. */
async function listStore(): Promise<string[]> {
  const rows: string[] = [];
  for await (const e of app.services.storage.table(TABLES.secrets).listEntities<{ ciphertext?: string; iv?: string }>()) {
    rows.push(`${e.rowKey}:${e.iv ?? ""}:${e.ciphertext ?? ""}`);
  }
  return rows.sort();
}

async function unchanged(what: string, run: () => Promise<{ status: number; body: any }>, status: number, code: string): Promise<void> {
  const before = await listStore();
  const res = await run();
  assert.equal(res.status, status, `${what}: ${JSON.stringify(res.body)}`);
  assert.equal(res.body.error.code, code, what);
  assert.deepEqual(await listStore(), before, `${what}: the secret store changed`);
}

const creds = (password: string) => ({ userName: "alice", password });

test("refused creates and updates (400, 409, 412, re-entry) leave the secret store as it was", async () => {
  const p = await app.call("POST", "/api/profiles", { body: sampleProfile({ name: "Side effects", authenticateUsing: "profileCredentials", credentials: creds("prf-pw") }) });
  assert.equal(p.status, 201, p.text);
  const other = await app.call("POST", "/api/profiles", { body: sampleProfile({ name: "Taken name" }) });
  const m = await app.call("POST", "/api/mailboxes", {
    body: { owner: { type: "queue", id: "q-se" }, emailAddress: "se@contoso.test", profileId: p.body.id, credentials: creds("mbx-pw") },
  });
  assert.equal(m.status, 201, m.text);
  const post = (path: string, body: unknown) => () => app.call("POST", path, { body });
  const patchWith = (path: string, body: unknown, headers: Record<string, string> = {}) => () => app.call("PATCH", path, { body, headers });

  await unchanged("mailbox create, user with deleteEmailsAfterProcessing", post("/api/mailboxes", {
    owner: { type: "user", id: "u-se" }, emailAddress: "u-se@contoso.test", profileId: p.body.id, deleteEmailsAfterProcessing: true, credentials: creds("x1"),
  }), 400, "VALIDATION_FAILED");
  await unchanged("mailbox create, no such profile", post("/api/mailboxes", {
    owner: { type: "user", id: "u-se2" }, emailAddress: "u-se2@contoso.test", profileId: "nope", credentials: creds("x2"),
  }), 400, "VALIDATION_FAILED");
  await unchanged("mailbox create, address taken", post("/api/mailboxes", {
    owner: { type: "queue", id: "q-se-2" }, emailAddress: "se@contoso.test", credentials: creds("x3"),
  }), 409, "CONFLICT");
  await unchanged("mailbox create, owner taken", post("/api/mailboxes", {
    owner: { type: "queue", id: "q-se" }, emailAddress: "se-other@contoso.test", credentials: creds("x4"),
  }), 409, "CONFLICT");
  await unchanged("profile create, bad host and missing outgoing credentials", post("/api/profiles", sampleProfile({
    name: "Bad", incoming: { host: "169.254.169.254" }, credentials: creds("x5"), useSameSettingsForOutgoing: false, authenticateUsing: "profileCredentials",
  })), 400, "VALIDATION_FAILED");
  await unchanged("profile create, name taken", post("/api/profiles", sampleProfile({
    name: "taken NAME", authenticateUsing: "profileCredentials", credentials: creds("x6"),
  })), 409, "CONFLICT");

  await unchanged("mailbox update, stale If-Match", patchWith(`/api/mailboxes/${m.body.id}`, { credentials: creds("x7") }, { "if-match": "W/\"stale\"" }), 412, "PRECONDITION_FAILED");
  const taken = await app.call("POST", "/api/mailboxes", { body: { owner: { type: "queue", id: "q-se-3" }, emailAddress: "se3@contoso.test" } });
  await unchanged("mailbox update, address of another mailbox", patchWith(`/api/mailboxes/${m.body.id}`, { emailAddress: taken.body.emailAddress, credentials: creds("x9") }), 409, "CONFLICT");
  await unchanged("mailbox update, validation", patchWith(`/api/mailboxes/${m.body.id}`, { deleteEmailsAfterProcessing: true, owner: { type: "user", id: "u-se9" }, credentials: creds("x10") }), 400, "VALIDATION_FAILED");
  await unchanged("profile update, stale If-Match", patchWith(`/api/profiles/${p.body.id}`, { credentials: creds("x11") }, { "if-match": "W/\"stale\"" }), 412, "PRECONDITION_FAILED");
  await unchanged("profile update, name taken", patchWith(`/api/profiles/${p.body.id}`, { name: other.body.name, credentials: creds("x12") }), 409, "CONFLICT");
  await unchanged("profile update, another secret re-pointed", patchWith(`/api/profiles/${p.body.id}`, {
    incoming: { host: "pop.elsewhere.test" }, useSameSettingsForOutgoing: false, outgoingCredentials: { userName: "out", password: "x13" },
  }), 400, "SECRET_REENTRY_REQUIRED");
  await unchanged("profile update, bad host", patchWith(`/api/profiles/${p.body.id}`, { outgoing: { host: "[fe80::1]" }, credentials: creds("x14") }), 400, "VALIDATION_FAILED");
});

test("an accepted password change replaces the secret: no orphan is left behind", async () => {
  const m = await app.call("POST", "/api/mailboxes", { body: { owner: { type: "queue", id: "q-rot" }, emailAddress: "rot@contoso.test", credentials: creds("one") } });
  const before = (await listStore()).length;
  const res = await app.call("PATCH", `/api/mailboxes/${m.body.id}`, { body: { credentials: creds("two") } });
  assert.equal(res.status, 200, res.text);
  assert.equal((await listStore()).length, before);
  const doc = (await app.services.repos.mailboxes.require(m.body.id)).doc;
  assert.equal(await app.services.secrets.get(doc.credentials!.secretName!), "two");
  const removed = await app.call("PATCH", `/api/mailboxes/${m.body.id}`, { body: { credentials: null } });
  assert.equal(removed.status, 200);
  assert.equal((await listStore()).length, before - 1);
});

test("races that lose at the commit delete what they wrote", async () => {
  const before = (await listStore()).length;
  const creates = await Promise.all(Array.from({ length: 8 }, (_, i) => app.call("POST", "/api/mailboxes", {
    body: { owner: { type: "queue", id: `q-race-${i}` }, emailAddress: "race@contoso.test", credentials: creds(`race-${i}`) },
  })));
  assert.deepEqual(creates.map((r) => r.status).sort(), [201, 409, 409, 409, 409, 409, 409, 409]);
  assert.equal((await listStore()).length, before + 1);

  const winner = creates.find((r) => r.status === 201)!.body;
  const updates = await Promise.all(Array.from({ length: 6 }, (_, i) => app.call("PATCH", `/api/mailboxes/${winner.id}`, {
    body: { credentials: creds(`upd-${i}`) }, headers: { "if-match": winner.etag }, key: MASTER_KEY,
  })));
  const ok = updates.map((r, i) => ({ status: r.status, i })).filter((r) => r.status === 200);
  assert.equal(ok.length, 1, JSON.stringify(updates.map((r) => r.status)));
  assert.ok(updates.every((r) => r.status === 200 || r.status === 412));
  assert.equal((await listStore()).length, before + 1, "one secret for the mailbox, none orphaned");
  const doc = (await app.services.repos.mailboxes.require(winner.id)).doc;
  assert.equal(await app.services.secrets.get(doc.credentials!.secretName!), `upd-${ok[0]!.i}`, "the stored password is the winner's");
});
