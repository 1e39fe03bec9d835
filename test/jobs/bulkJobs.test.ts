/**
 * Bulk jobs run (issue 11 point 3): one result per mailbox with its outcome, each action through
 * the single-mailbox use case (rules and secret re-entry per mailbox), and a job whose worker dies
 * mid-page resumes where it stopped when its message is delivered again.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { MASTER_KEY, sampleProfile, startTestApp, type TestApp } from "../support/app.js";
import { definitions } from "../../functions/definitions.js";
import type { Services } from "../../shared/runtime/services.js";
import { createMailbox } from "../../shared/admin/mailboxes.js";
import type { JobStore } from "../../shared/storage/jobStore.js";
import { handleJobMessage } from "../../shared/jobs/jobMessages.js";
import { decode, drainJobs, jobQueue } from "./bulkQueue.js";

let app: TestApp;
let profileId: string;
before(async () => {
  app = await startTestApp({ definitions: definitions.filter((d) => d.kind === "http") });
  profileId = (await app.call("POST", "/api/profiles", { body: sampleProfile({ name: "Bulk" }) })).body.id;
});
after(async () => { await app?.stop(); });

async function mailbox(name: string, body: Record<string, unknown> = {}): Promise<string> {
  const res = await app.call("POST", "/api/mailboxes", {
    body: { owner: { type: "queue", id: `q-${name}` }, emailAddress: `${name}@contoso.test`, profileId, incomingMethod: "none", outgoingMethod: "none", ...body },
  });
  assert.equal(res.status, 201, res.text);
  return res.body.id;
}

async function run(body: unknown, key?: string): Promise<any> {
  const started = await app.call("POST", "/api/mailboxes/bulk", { body, ...(key ? { key } : {}) });
  assert.equal(started.status, 202, started.text);
  await drainJobs(app.services);
  const job = await app.call("GET", `/api/jobs/${started.body.jobId}`);
  assert.equal(job.status, 200, job.text);
  return job.body;
}

const byId = (job: any): Map<string, any> => new Map(job.results.map((r: any) => [r.mailboxId, r]));
const UNKNOWN = "00000000-0000-4000-8000-00000000dead";

test("approve: each mailbox's outcome; already approved is skipped, an unknown id fails with NOT_FOUND and the others go on", async () => {
  const [a, b, c] = [await mailbox("ap-a"), await mailbox("ap-b"), await mailbox("ap-c")];
  assert.equal((await app.call("POST", `/api/mailboxes/${c}/approve`, { key: MASTER_KEY })).status, 200);
  const job = await run({ action: "approve", mailboxIds: [a, UNKNOWN, b, c, a] }, MASTER_KEY);
  assert.deepEqual([job.kind, job.action, job.status, job.total, job.done], ["bulk", "approve", "succeeded", 4, 4]);
  const r = byId(job);
  assert.deepEqual([r.get(a).outcome, r.get(b).outcome, r.get(c).outcome], ["succeeded", "succeeded", "skipped"]);
  assert.equal(r.get(UNKNOWN).outcome, "failed");
  assert.equal(r.get(UNKNOWN).error.code, "NOT_FOUND");
  assert.equal(r.get(a).error, null);
  for (const id of [a, b, c]) assert.equal((await app.call("GET", `/api/mailboxes/${id}`)).body.approval, "approved");
});

test("reject by filter: the mailboxes matching when the job starts", async () => {
  const [a, b] = [await mailbox("rj-a"), await mailbox("rj-b")];
  const other = await mailbox("other-rj");
  const job = await run({ action: "reject", filter: { emailAddressPrefix: "rj-", approval: "pendingApproval" } }, MASTER_KEY);
  assert.deepEqual([job.total, job.done, job.status], [2, 2, "succeeded"]);
  assert.deepEqual(job.results.map((r: any) => r.mailboxId).sort(), [a, b].sort());
  assert.equal((await app.call("GET", `/api/mailboxes/${other}`)).body.approval, "pendingApproval");
});

test("update: PATCH rules per mailbox; SECRET_REENTRY_REQUIRED fails only the mailbox whose password would move", async () => {
  const withPassword = await mailbox("up-pw", { credentials: { userName: "old", password: "up-secret-1" } });
  const without = await mailbox("up-nopw");
  const user = (await app.call("POST", "/api/mailboxes", {
    body: { owner: { type: "user", id: "u-up" }, emailAddress: "up-user@contoso.test", profileId, incomingMethod: "none", outgoingMethod: "none" },
  })).body.id;

  const job = await run({ action: "update", filter: { emailAddressPrefix: "up-" }, changes: { credentials: { userName: "svc-new" }, incomingFilter: "all" } });
  assert.deepEqual([job.total, job.done, job.status], [3, 3, "succeeded"]);
  const r = byId(job);
  assert.equal(r.get(withPassword).outcome, "failed");
  assert.equal(r.get(withPassword).error.code, "SECRET_REENTRY_REQUIRED");
  assert.deepEqual(r.get(withPassword).error.details.map((d: any) => d.path), ["credentials.password"]);
  assert.deepEqual([r.get(without).outcome, r.get(user).outcome], ["succeeded", "succeeded"]);
  assert.equal((await app.call("GET", `/api/mailboxes/${withPassword}`)).body.credentials.userName, "old", "the refused mailbox is unchanged");
  assert.equal((await app.call("GET", `/api/mailboxes/${without}`)).body.credentials.userName, "svc-new");
  assert.ok(!JSON.stringify(job).includes("up-secret-1"));

  // The approver may re-point stored passwords, as with PATCH; a rule still fails its mailbox only.
  const approved = await run({ action: "update", mailboxIds: [withPassword, user], changes: { credentials: { userName: "svc-new" }, deleteEmailsAfterProcessing: true } }, MASTER_KEY);
  const r2 = byId(approved);
  assert.equal(r2.get(withPassword).outcome, "succeeded");
  assert.equal(r2.get(user).outcome, "failed");
  assert.equal(r2.get(user).error.code, "VALIDATION_FAILED");
  assert.deepEqual(r2.get(user).error.details.map((d: any) => d.path), ["deleteEmailsAfterProcessing"]);
  const moved = (await app.call("GET", `/api/mailboxes/${withPassword}`)).body;
  assert.deepEqual([moved.credentials, moved.deleteEmailsAfterProcessing], [{ userName: "svc-new", hasPassword: true }, true]);
});

test("testAndEnable: one mailbox message each, results with both directions' status; nothing to test is skipped", async () => {
  const [a, b] = [await mailbox("te-a"), await mailbox("te-b")];
  const job = await run({ action: "testAndEnable", mailboxIds: [a, b, UNKNOWN] });
  assert.deepEqual([job.total, job.done, job.status], [3, 3, "succeeded"]);
  const r = byId(job);
  assert.deepEqual(r.get(a), { mailboxId: a, outcome: "skipped", incomingStatus: "notRun", outgoingStatus: "notRun", error: null });
  assert.equal(r.get(b).outcome, "skipped");
  assert.deepEqual([r.get(UNKNOWN).outcome, r.get(UNKNOWN).error.code], ["failed", "NOT_FOUND"]);
});

test("applyDefaultSettings: the default profile and methods per mailbox; a password that would move fails that mailbox only", async () => {
  const elsewhere = (await app.call("POST", "/api/profiles", { body: { name: "Elsewhere", incoming: { host: "pop.elsewhere.test" }, outgoing: { host: "smtp.elsewhere.test" } } })).body.id;
  assert.equal((await app.call("PATCH", "/api/settings", { body: { defaultProfileId: elsewhere, defaultIncomingMethod: "none", defaultOutgoingMethod: "none" } })).status, 200);
  const pw = await mailbox("ad-pw", { credentials: { userName: "ad", password: "ad-secret-1" }, outgoingMethod: "serverSideSync" });
  const plain = await mailbox("ad-plain", { outgoingMethod: "serverSideSync" });
  const job = await run({ action: "applyDefaultSettings", mailboxIds: [pw, plain] });
  const r = byId(job);
  assert.deepEqual([r.get(pw).outcome, r.get(pw).error.code], ["failed", "SECRET_REENTRY_REQUIRED"]);
  assert.deepEqual([r.get(plain).outcome, r.get(plain).error], ["succeeded", null]);
  const moved = (await app.call("GET", `/api/mailboxes/${plain}`)).body;
  assert.deepEqual([moved.profileId, moved.outgoingMethod], [elsewhere, "none"]);
  const kept = (await app.call("GET", `/api/mailboxes/${pw}`)).body;
  assert.deepEqual([kept.profileId, kept.outgoingMethod], [profileId, "serverSideSync"]);
  assert.equal((await app.call("PATCH", "/api/settings", { body: { defaultProfileId: null, defaultIncomingMethod: "serverSideSync", defaultOutgoingMethod: "serverSideSync" } })).status, 200);
});

/** The app's services, but the worker dies (throws) when it records its `diesAt`-th result. */
function dyingWorker(services: Services, diesAt: number): Services {
  let written = 0;
  const jobs = Object.create(services.jobs) as JobStore;
  jobs.putResult = (jobId, result) => {
    if (++written >= diesAt) return Promise.reject(new Error("worker died"));
    return services.jobs.putResult(jobId, result);
  };
  return { ...services, jobs };
}

test("a few hundred mailboxes: the worker dies mid-job, the redelivered step resumes, every mailbox has exactly one result", async () => {
  const count = 250;
  const ids: string[] = [];
  for (let i = 0; i < count; i += 25) {
    ids.push(...await Promise.all(Array.from({ length: Math.min(25, count - i) }, async (_, j) => (await createMailbox(app.services, {
      owner: { type: "queue", id: `q-many-${i + j}` }, emailAddress: `many-${i + j}@contoso.test`, profileId, incomingMethod: "none", outgoingMethod: "none",
    })).doc.id)));
  }
  // How often each mailbox is written: a resumed job may redo only what was in flight when the worker died.
  const writes = new Map<string, number>();
  const table = app.services.repos.mailboxes;
  const update = table.update.bind(table);
  table.update = (id, change, ifMatch) => {
    writes.set(id, (writes.get(id) ?? 0) + 1);
    return update(id, change, ifMatch);
  };
  try {
    const started = await app.call("POST", "/api/mailboxes/bulk", { body: { action: "update", filter: { emailAddressPrefix: "many-" }, changes: { active: false, incomingFilter: "all" } } });
    assert.equal(started.status, 202, started.text);
    const jobId: string = started.body.jobId;

    // Page 0 completes; page 1 dies after 30 more results (the 131st result is never written).
    const queue = jobQueue(app.services);
    const step = async (services: Services): Promise<{ text: string; id: string; pop: string } | undefined> => {
      const { receivedMessageItems: [m] } = await queue.receiveMessages({ numberOfMessages: 1 });
      if (!m) return undefined;
      await handleJobMessage(services, decode(m.messageText));
      await queue.deleteMessage(m.messageId, m.popReceipt);
      return { text: m.messageText, id: m.messageId, pop: m.popReceipt };
    };
    await step(app.services);
    const { receivedMessageItems: [page1] } = await queue.receiveMessages({ numberOfMessages: 1 });
    assert.ok(page1);
    await assert.rejects(handleJobMessage(dyingWorker(app.services, 31), decode(page1.messageText)), /worker died/);
    const midway = (await app.call("GET", `/api/jobs/${jobId}`)).body;
    assert.equal(midway.status, "running");
    assert.ok(midway.done >= 130 && midway.done < 200, `progress is recorded: ${midway.done}`);

    // The queue delivers the message again (its visibility ran out): the new worker carries on.
    await handleJobMessage(app.services, decode(page1.messageText));
    await queue.deleteMessage(page1.messageId, page1.popReceipt);
    await drainJobs(app.services);

    const job = (await app.call("GET", `/api/jobs/${jobId}`)).body;
    assert.deepEqual([job.status, job.total, job.done, job.results.length], ["succeeded", count, count, count]);
    const resultIds = job.results.map((r: any) => r.mailboxId);
    assert.equal(new Set(resultIds).size, count, "exactly one result per mailbox");
    assert.deepEqual([...resultIds].sort(), [...ids].sort());
    assert.ok(job.results.every((r: any) => r.outcome === "succeeded" && r.error === null));
    const redone = ids.filter((id) => (writes.get(id) ?? 0) > 1);
    assert.ok(ids.every((id) => (writes.get(id) ?? 0) >= 1 && (writes.get(id) ?? 0) <= 2));
    assert.ok(redone.length <= 8, `only the mailboxes in flight when the worker died are redone: ${redone.length}`);
    const listed = await app.call("GET", "/api/mailboxes?emailAddressPrefix=many-&active=true");
    assert.deepEqual([listed.body.items.length, listed.body.continuationToken], [0, null], "every mailbox was updated");
  } finally {
    table.update = update;
  }
});
