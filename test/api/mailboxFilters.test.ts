/**
 * The mailbox list filters of issue 11 (API.md "Mailboxes"): each alone, combined with AND, paged,
 * `true|false` only, and rows written before the index properties existed found after the
 * start-up reindex (decision 0016).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { MASTER_KEY, sampleProfile, startTestApp, type TestApp } from "../support/app.js";
import type { DirectionState, Mailbox } from "../../shared/domain/mailbox.js";
import { reindexMailboxes } from "../../shared/storage/reindexMailboxes.js";
import { TABLES } from "../../shared/storage/names.js";

let app: TestApp;
let profileId: string;
const ids: Record<string, string> = {};
const future = new Date(Date.now() + 3_600_000).toISOString();
const past = new Date(Date.now() - 3_600_000).toISOString();

async function mailbox(name: string, body: Record<string, unknown>, state: (m: Mailbox) => Mailbox = (m) => m): Promise<void> {
  const res = await app.call("POST", "/api/mailboxes", { body: { owner: { type: "user", id: `u-${name}` }, emailAddress: `${name}@f.test`, profileId, ...body } });
  assert.equal(res.status, 201, res.text);
  ids[name] = res.body.id;
  await app.services.repos.mailboxes.update(res.body.id, state);
}
const dir = (d: DirectionState, change: Partial<DirectionState>): DirectionState => ({ ...d, ...change });

before(async () => {
  app = await startTestApp();
  profileId = (await app.call("POST", "/api/profiles", { body: sampleProfile({ name: "Filters" }) })).body.id;
  // alpha: healthy, both directions enabled, approved.
  await mailbox("alpha", {}, (m) => ({ ...m, incoming: dir(m.incoming, { status: "success", enabled: true }), outgoing: dir(m.outgoing, { status: "success", enabled: true }) }));
  assert.equal((await app.call("POST", `/api/mailboxes/${ids.alpha}/approve`, { key: MASTER_KEY })).status, 200);
  // bravo: inactive, no incoming, outgoing disabled by a failure.
  await mailbox("bravo", { active: false, incomingMethod: "none" }, (m) => ({ ...m, outgoing: dir(m.outgoing, { status: "failure" }) }));
  // charlie: a queue whose incoming is postponed until later.
  await mailbox("charlie", { owner: { type: "queue", id: "q-charlie" }, incomingMethod: "forwardMailbox", outgoingMethod: "none" },
    (m) => ({ ...m, incoming: dir(m.incoming, { postponedUntil: future }) }));
  // delta: a postponement that has ended is no error.
  await mailbox("delta", {}, (m) => ({ ...m, outgoing: dir(m.outgoing, { postponedUntil: past }) }));
});
after(async () => { await app?.stop(); });

async function names(query: string): Promise<string[]> {
  const found: string[] = [];
  let token: string | null = null;
  do {
    const res = await app.call("GET", `/api/mailboxes?${query}${token ? `&continuationToken=${encodeURIComponent(token)}` : ""}`);
    assert.equal(res.status, 200, res.text);
    found.push(...res.body.items.map((m: any) => m.emailAddress.split("@")[0]));
    token = res.body.continuationToken;
  } while (token);
  return found.sort();
}

test("each filter alone", async () => {
  assert.deepEqual(await names("active=false"), ["bravo"]);
  assert.deepEqual(await names("active=true"), ["alpha", "charlie", "delta"]);
  assert.deepEqual(await names("enabledForIncoming=true"), ["alpha"]);
  assert.deepEqual(await names("enabledForOutgoing=false"), ["bravo", "charlie", "delta"]);
  assert.deepEqual(await names("outgoingStatus=failure"), ["bravo"]);
  assert.deepEqual(await names("incomingStatus=success"), ["alpha"]);
  assert.deepEqual(await names("incomingMethod=forwardMailbox"), ["charlie"]);
  assert.deepEqual(await names("outgoingMethod=none"), ["charlie"]);
  assert.deepEqual(await names("emailAddressPrefix=BR"), ["bravo"], "the prefix is case-insensitive, as addresses are");
  assert.deepEqual(await names("emailAddressPrefix=d"), ["delta"]);
  assert.deepEqual(await names("approval=approved"), ["alpha"]);
  assert.deepEqual(await names("ownerType=queue"), ["charlie"]);
  assert.deepEqual(await names(`profileId=${profileId}`), ["alpha", "bravo", "charlie", "delta"]);
});

test("hasErrors: either direction failed, or postponed now (an ended postponement is no error)", async () => {
  assert.deepEqual(await names("hasErrors=true"), ["bravo", "charlie"]);
  assert.deepEqual(await names("hasErrors=false"), ["alpha", "delta"]);
});

test("filters combine with AND, and page through continuation tokens", async () => {
  assert.deepEqual(await names("hasErrors=true&ownerType=queue"), ["charlie"]);
  assert.deepEqual(await names("active=true&hasErrors=false&enabledForIncoming=false"), ["delta"]);
  assert.deepEqual(await names("approval=approved&active=false"), []);
  const first = await app.call("GET", "/api/mailboxes?top=1&active=true");
  assert.equal(first.body.items.length, 1);
  assert.ok(first.body.continuationToken, "more pages");
  assert.deepEqual(await names("top=1&active=true"), ["alpha", "charlie", "delta"]);
});

test("booleans are true or false; unknown filters and values are 400 naming each", async () => {
  const res = await app.call("GET", "/api/mailboxes?active=yes&hasErrors=1&enabledForIncoming=TRUE&incomingMethod=pop&bogus=x");
  assert.equal(res.status, 400, res.text);
  assert.equal(res.body.error.code, "VALIDATION_FAILED");
  assert.deepEqual(res.body.error.details.map((d: any) => d.path).sort(), ["active", "bogus", "enabledForIncoming", "hasErrors", "incomingMethod"]);
  assert.match(res.body.error.details.find((d: any) => d.path === "active").message, /true or false/);
});

test("a row written before the index properties existed is found after the start-up reindex", async () => {
  const table = app.services.storage.table(TABLES.mailboxes);
  const id = "00000000-0000-4000-8000-0000000000aa";
  const now = new Date().toISOString();
  // The shape and index properties of rows written before issue 11 (one shared state, five properties).
  const old = {
    id, createdAt: now, updatedAt: now, owner: { type: "user", id: "u-old" }, emailAddress: "old@f.test", profileId,
    incomingMethod: "serverSideSync", outgoingMethod: "serverSideSync", credentials: null, active: true, isForwardMailbox: false,
    deleteEmailsAfterProcessing: false, processEmailReceivedAfter: null, incomingFilter: "all", approval: "approved",
    incomingStatus: "success", outgoingStatus: "failure", enabledForIncoming: true, enabledForOutgoing: false,
    lastSyncAt: null, lastSuccessfulSyncAt: null, lastError: null, transientFailureCount: 0, postponedUntil: null,
    stats: { received: 0, sent: 0, failed: 0, skipped: 0, quarantined: 0 },
  };
  await table.createEntity({
    partitionKey: "mailbox", rowKey: `e:${id}`, doc: JSON.stringify(old),
    profileId, ownerType: "user", approval: "approved", incomingStatus: "success", outgoingStatus: "failure",
  });
  assert.deepEqual(await names("emailAddressPrefix=old"), [], "without the new properties Storage cannot match it");
  assert.equal(await reindexMailboxes(app.services.storage), 0, "this index version was done at start-up: one read, nothing rewritten");

  // As at the first start of the new version: no marker yet.
  await table.deleteEntity("meta", "mailboxIndexVersion");
  assert.equal(await reindexMailboxes(app.services.storage), 1, "only the old row is rewritten");
  assert.deepEqual(await names("emailAddressPrefix=old&active=true&enabledForIncoming=true&enabledForOutgoing=false&hasErrors=true&outgoingStatus=failure"), ["old"]);
  const read = await app.call("GET", `/api/mailboxes/${id}`);
  assert.equal(read.status, 200, read.text);
  assert.deepEqual([read.body.incoming.status, read.body.outgoing.status, read.body.enabledForIncoming], ["success", "failure", true]);
  const stored = JSON.parse((await table.getEntity<{ doc: string }>("mailbox", `e:${id}`)).doc);
  assert.ok(stored.incoming && !("incomingStatus" in stored), "the document was written back in the new shape");
  assert.equal(await reindexMailboxes(app.services.storage), 0);
});
