/**
 * POST /api/mailboxes/bulk refuses a bad request up front, as one 400 (or 403) that queues and
 * stores nothing; a good one, up to 10,000 mailboxes, is a 202 with a job whose ids are stored in
 * pages of their own.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { MASTER_KEY, sampleProfile, startTestApp, type TestApp } from "../support/app.js";
import { definitions } from "../../functions/definitions.js";
import { TABLES } from "../../shared/storage/names.js";
import { MAX_BULK_MAILBOXES } from "../../shared/jobs/bulkRequest.js";
import { BULK_PAGE_SIZE } from "../../shared/jobs/bulkStep.js";
import { matchingMailboxIds } from "../../shared/admin/mailboxList.js";
import { queuedCount } from "./bulkQueue.js";

let app: TestApp;
let mailboxId: string;
before(async () => {
  app = await startTestApp({ definitions: definitions.filter((d) => d.kind === "http") });
  const res = await app.call("POST", "/api/mailboxes", { body: { owner: { type: "queue", id: "q-req" }, emailAddress: "req@contoso.test", incomingMethod: "none", outgoingMethod: "none" } });
  assert.equal(res.status, 201, res.text);
  mailboxId = res.body.id;
});
after(async () => { await app?.stop(); });

async function jobRows(): Promise<number> {
  let n = 0;
  for await (const _ of app.services.storage.table(TABLES.jobs).listEntities()) n++;
  return n;
}

async function refused(body: unknown, status: number, code: string, paths: string[], key?: string): Promise<void> {
  const res = await app.call("POST", "/api/mailboxes/bulk", { body, ...(key ? { key } : {}) });
  assert.equal(res.status, status, res.text);
  assert.equal(res.body.error.code, code);
  if (paths.length > 0) assert.deepEqual(res.body.error.details.map((d: any) => d.path).sort(), [...paths].sort(), res.text);
}

test("bad requests are one 400 naming each problem, and nothing is queued or stored", async () => {
  await refused({ action: "approve", mailboxIds: [] }, 400, "VALIDATION_FAILED", ["mailboxIds"], MASTER_KEY);
  await refused({ action: "delete", mailboxIds: [mailboxId] }, 400, "VALIDATION_FAILED", ["action"]);
  await refused({ action: "testAndEnable" }, 400, "VALIDATION_FAILED", ["mailboxIds"]);
  await refused({ action: "testAndEnable", mailboxIds: [mailboxId], filter: { active: true } }, 400, "VALIDATION_FAILED", ["filter"]);
  await refused({ action: "update", mailboxIds: [mailboxId] }, 400, "VALIDATION_FAILED", ["changes"]);
  await refused({ action: "testAndEnable", mailboxIds: [mailboxId], changes: { active: false } }, 400, "VALIDATION_FAILED", ["changes"]);
  await refused({ action: "testAndEnable", mailboxIds: ["a/b", "x".repeat(65)] }, 400, "VALIDATION_FAILED", ["mailboxIds.0", "mailboxIds.1"]);
  await refused({ action: "testAndEnable", filter: { active: "true", bogus: 1 } }, 400, "VALIDATION_FAILED", ["filter.active", "filter.bogus"]);
  await refused({ action: "testAndEnable", mailboxIds: [mailboxId], extra: 1 }, 400, "VALIDATION_FAILED", ["extra"]);
  const tooMany = Array.from({ length: MAX_BULK_MAILBOXES + 1 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`);
  const big = await app.call("POST", "/api/mailboxes/bulk", { body: { action: "testAndEnable", mailboxIds: tooMany } });
  assert.equal(big.status, 400, big.text);
  assert.deepEqual(big.body.error.details.map((d: any) => d.path), ["mailboxIds"]);
  assert.match(big.body.error.details[0].message, /at most 10000 mailboxes per job/);
  assert.equal(await queuedCount(app.services), 0);
  assert.equal(await jobRows(), 0);
});

test("update's changes go through the PATCH validation, and what cannot be bulk is refused", async () => {
  await refused({ action: "update", mailboxIds: [mailboxId], changes: { incomingMethod: "pop", bogus: 1, processEmailReceivedAfter: "yesterday" } },
    400, "VALIDATION_FAILED", ["changes.bogus", "changes.incomingMethod", "changes.processEmailReceivedAfter"]);
  await refused({ action: "update", mailboxIds: [mailboxId], changes: {} }, 400, "VALIDATION_FAILED", ["changes"]);
  await refused({ action: "update", mailboxIds: [mailboxId], changes: { emailAddress: "same@contoso.test", owner: { type: "user", id: "u" } } },
    400, "VALIDATION_FAILED", ["changes.emailAddress", "changes.owner"]);
  await refused({ action: "update", mailboxIds: [mailboxId], changes: { credentials: { userName: "svc", password: "bulk-secret-1" } } },
    400, "VALIDATION_FAILED", ["changes.credentials.password"]);
  await refused({ action: "update", mailboxIds: [mailboxId], changes: { profileId: "no-such-profile" } }, 400, "VALIDATION_FAILED", ["changes.profileId"]);
  await refused({ action: "applyDefaultSettings", mailboxIds: [mailboxId] }, 400, "VALIDATION_FAILED", ["action"]);
  assert.equal(await queuedCount(app.services), 0);
  assert.equal(await jobRows(), 0);
});

test("approve and reject need the approver role (403 on the admin key, nothing queued); other actions the admin", async () => {
  await refused({ action: "approve", mailboxIds: [mailboxId] }, 403, "FORBIDDEN", []);
  await refused({ action: "reject", filter: { active: true } }, 403, "FORBIDDEN", []);
  assert.equal(await queuedCount(app.services), 0);
  assert.equal(await jobRows(), 0);
  const ok = await app.call("POST", "/api/mailboxes/bulk", { body: { action: "approve", mailboxIds: [mailboxId] }, key: MASTER_KEY });
  assert.equal(ok.status, 202, ok.text);
  const admin = await app.call("POST", "/api/mailboxes/bulk", { body: { action: "update", filter: { emailAddressPrefix: "req" }, changes: { active: true, id: "ignored", etag: "ignored" } } });
  assert.equal(admin.status, 202, admin.text);
  assert.equal(await queuedCount(app.services), 2);
});

test("10,000 mailboxes are one job: ids stored in pages of their own, the first step queued", async () => {
  const ids = Array.from({ length: MAX_BULK_MAILBOXES }, (_, i) => `10000000-0000-4000-8000-${String(i).padStart(12, "0")}`);
  const res = await app.call("POST", "/api/mailboxes/bulk", { body: { action: "testAndEnable", mailboxIds: ids } });
  assert.equal(res.status, 202, res.text);
  const job = await app.call("GET", `/api/jobs/${res.body.jobId}`);
  assert.deepEqual([job.body.kind, job.body.action, job.body.status, job.body.total, job.body.done], ["bulk", "testAndEnable", "queued", MAX_BULK_MAILBOXES, 0]);
  const pages = MAX_BULK_MAILBOXES / BULK_PAGE_SIZE;
  assert.deepEqual(await app.services.jobs.getTargets(res.body.jobId, pages - 1), ids.slice(-BULK_PAGE_SIZE));
  assert.equal(await app.services.jobs.getTargets(res.body.jobId, pages), undefined);
});

test("a filter reads keys only, and says when it matches more than the bound", async () => {
  const profileId = (await app.call("POST", "/api/profiles", { body: sampleProfile({ name: "Bound" }) })).body.id;
  for (const i of [1, 2, 3, 4]) {
    const res = await app.call("POST", "/api/mailboxes", { body: { owner: { type: "queue", id: `q-bound-${i}` }, emailAddress: `bound${i}@contoso.test`, profileId } });
    assert.equal(res.status, 201, res.text);
  }
  assert.equal((await matchingMailboxIds(app.services, { profileId }, 10)).length, 4);
  assert.equal((await matchingMailboxIds(app.services, { profileId }, 3)).length, 4, "limit + 1: the caller can tell there are more");
  assert.equal((await matchingMailboxIds(app.services, { profileId, emailAddressPrefix: "bound1" }, 3)).length, 1);
});
