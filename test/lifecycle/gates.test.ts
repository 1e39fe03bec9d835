/**
 * Every gate of API.md "A mailbox is processed only while: active, has a profile, its method is
 * not `none`, it is enabled for that direction, not postponed, and approved where the settings
 * require approval" (issue 11 point 7), each through the worker, which also keeps the due index
 * in step (the tick enqueues without reading the mailbox, decision 0033);
 * plus connection-limit throttling, "use same settings for outgoing" and alert-level suppression.
 */
import { after, before, beforeEach, test } from "node:test";
import assert from "node:assert/strict";
import { pollMailbox } from "../../shared/sync/incoming/pollMailbox.js";
import { sendMailbox } from "../../shared/sync/outgoing/sendMailbox.js";
import { NOT_APPROVED_RECHECK_MS } from "../../shared/sync/scheduler.js";
import { freePort } from "../../shared/runtime/azurite.js";
import { QUEUES } from "../../shared/storage/names.js";
import { handleTestMessage } from "../../shared/lifecycle/testJobs.js";
import { Pop3TestServer } from "../support/pop3-server.js";
import { MASTER_KEY } from "../support/app.js";
import { ScriptedSmtpServer, TEST_CA } from "../outgoing/support/smtpServer.js";
import { createSender, postEmail, startOutgoingApp, type OutgoingApp } from "../outgoing/support/fixture.js";

let env: OutgoingApp;
let pop3: Pop3TestServer;
let smtpServer: ScriptedSmtpServer;
const smtp = { ca: TEST_CA, connectTimeoutMs: 2000, greetingTimeoutMs: 400, socketTimeoutMs: 2000 };

before(async () => {
  env = await startOutgoingApp();
  pop3 = await Pop3TestServer.start({ messages: [] });
  smtpServer = await ScriptedSmtpServer.start({ tls: "none", users: { alice: "s3cret-Pa55", out: "out-pw" } });
});
after(async () => {
  await Promise.all([pop3?.close(), smtpServer?.close()]);
  await env?.app.stop();
});
beforeEach(async () => {
  await env.app.call("PUT", "/api/settings", { key: MASTER_KEY, body: { ...(await env.app.call("GET", "/api/settings")).body, alerts: { error: true, warning: true, information: true, notifyMailboxOwner: false } } });
});

/** An approved mailbox, both directions enabled, on working POP3 and SMTP servers. */
async function eligible(profile: Record<string, unknown> = {}): Promise<{ id: string; profileId: string }> {
  const s = await createSender(env.app, {
    port: smtpServer.port, useSsl: false, password: "s3cret-Pa55",
    profile: { incoming: { host: "127.0.0.1", port: pop3.port, useSsl: false }, allowCredentialsOverInsecureChannels: true, minPollingIntervalMinutes: 0, ...profile },
  });
  await env.app.services.repos.mailboxes.update(s.mailboxId, (m) => ({ ...m, incomingFilter: "all", incoming: { ...m.incoming, enabled: true, status: "success" }, outgoing: { ...m.outgoing, status: "success" } }));
  // One email waits to be sent, so a closed gate is what stops the send, not an empty outbox.
  await postEmail(env.app, { mailboxId: s.mailboxId, to: ["bob@fabrikam.test"] });
  return { id: s.mailboxId, profileId: s.profileId };
}

const due = async (id: string) => [await env.app.services.due.nextDue("incoming", id), await env.app.services.due.nextDue("outgoing", id)];

/**
 * The gate closes the worker, and the worker takes the mailbox off the due index: the tick
 * enqueues what is due without reading it (decision 0033), so the worker is where the index learns.
 */
async function assertGate(id: string, reason: string, directions: Array<"incoming" | "outgoing"> = ["incoming", "outgoing"]): Promise<void> {
  await env.app.services.due.schedule("incoming", id, env.clock.now());
  await env.app.services.due.schedule("outgoing", id, env.clock.now());
  if (directions.includes("incoming")) assert.deepEqual(await pollMailbox(env.app.services, id), { status: "ineligible", reason });
  if (directions.includes("outgoing")) assert.equal(await sendMailbox(env.app.services, id, { smtp }), "ineligible");
  const [inc, out] = await due(id);
  if (directions.includes("incoming")) assert.equal(inc, undefined, `${reason}: off the incoming due index`);
  if (directions.includes("outgoing")) assert.equal(out, undefined, `${reason}: off the outgoing due index`);
}

test("gate: an inactive mailbox is neither polled nor sends", async () => {
  const { id } = await eligible();
  assert.equal((await env.app.call("PATCH", `/api/mailboxes/${id}`, { body: { active: false } })).status, 200);
  await assertGate(id, "inactive");
});

test("gate: a mailbox without a profile is neither polled nor sends", async () => {
  const { id } = await eligible();
  await env.app.services.repos.mailboxes.update(id, (m) => ({ ...m, profileId: null }));
  await assertGate(id, "noProfile");
});

test("gate: method none stops that direction only", async () => {
  const a = await eligible();
  await env.app.services.repos.mailboxes.update(a.id, (m) => ({ ...m, incomingMethod: "none" }));
  await assertGate(a.id, "methodNone", ["incoming"]);
  assert.equal(await sendMailbox(env.app.services, a.id, { smtp }), "done", "outgoing still sends");
  const b = await eligible();
  await env.app.services.repos.mailboxes.update(b.id, (m) => ({ ...m, outgoingMethod: "none" }));
  await assertGate(b.id, "methodNone", ["outgoing"]);
  assert.equal((await pollMailbox(env.app.services, b.id)).status, "done", "incoming still polls");
});

test("gate: a direction not enabled (no passing Test & Enable) does not run", async () => {
  const { id } = await eligible();
  await env.app.services.repos.mailboxes.update(id, (m) => ({ ...m, incoming: { ...m.incoming, enabled: false }, outgoing: { ...m.outgoing, enabled: false } }));
  await assertGate(id, "notEnabled");
});

test("gate: a postponed direction waits until its postponement ends, and the scheduler keeps it due for then", async () => {
  const { id } = await eligible();
  const until = new Date(env.clock.now().getTime() + 5 * 60_000).toISOString();
  await env.app.services.repos.mailboxes.update(id, (m) => ({ ...m, incoming: { ...m.incoming, postponedUntil: until } }));
  await env.app.services.due.schedule("incoming", id, env.clock.now());
  assert.deepEqual(await pollMailbox(env.app.services, id), { status: "ineligible", reason: "postponed" });
  assert.equal((await due(id))[0]?.toISOString(), until, "due again when the postponement ends");
  env.clock.advance(5 * 60_000);
  assert.equal((await pollMailbox(env.app.services, id)).status, "done");
});

test("gate: not approved while approval is required: skipped, one warning alert (not repeated), looked at hourly, nothing disabled", async () => {
  const { id } = await eligible();
  assert.equal((await env.app.call("POST", `/api/mailboxes/${id}/reject`, { key: MASTER_KEY })).status, 200);
  assert.deepEqual(await pollMailbox(env.app.services, id), { status: "ineligible", reason: "notApproved" });
  for (let i = 0; i < 2; i++) {
    await env.app.services.due.schedule("incoming", id, env.clock.now());
    assert.deepEqual(await pollMailbox(env.app.services, id), { status: "ineligible", reason: "notApproved" });
  }
  assert.equal((await due(id))[0]?.getTime(), env.clock.now().getTime() + NOT_APPROVED_RECHECK_MS);
  const alerts = (await env.app.call("GET", `/api/alerts?mailboxId=${id}`)).body.items.filter((a: any) => a.code === "MAILBOX_NOT_APPROVED");
  assert.equal(alerts.length, 1);
  assert.equal(alerts[0].level, "warning");
  assert.equal(alerts[0].count, 1, "raised once, not at every look");
  const m = (await env.app.call("GET", `/api/mailboxes/${id}`)).body;
  assert.deepEqual([m.incoming.enabled, m.incoming.status, m.outgoing.enabled], [true, "success", true], "nothing is disabled (docs/errors.md)");
  assert.equal((await env.app.call("POST", `/api/mailboxes/${id}/approve`, { key: MASTER_KEY })).status, 200);
  assert.ok(((await due(id))[0]?.getTime() ?? Infinity) <= env.clock.now().getTime(), "approving makes it due at once");
  assert.equal((await pollMailbox(env.app.services, id)).status, "done");
});

test("throttling: with every connection slot of the profile taken, the poll is requeued and runs once one is free", async () => {
  const { id, profileId } = await eligible({ authenticateUsing: "profileCredentials", credentials: { userName: "alice", password: "s3cret-Pa55" }, maxConcurrentConnections: 1 });
  const held = await env.app.services.slots.tryAcquire(`profile:${profileId}`, 1, 60_000);
  assert.ok(held);
  const queue = env.app.services.storage.queues.getQueueClient(QUEUES.incoming);
  await queue.clearMessages();
  assert.deepEqual(await pollMailbox(env.app.services, id), { status: "throttled" });
  const props = await queue.getProperties();
  assert.equal(props.approximateMessagesCount, 1, "requeued (delayed), not dropped");
  await held.release();
  assert.equal((await pollMailbox(env.app.services, id)).status, "done");
});

test("use same settings for outgoing: true sends with the incoming credentials, false with the outgoing ones", async () => {
  const same = await eligible();
  smtpServer.logins.length = 0;
  assert.equal(await sendMailbox(env.app.services, same.id, { smtp }), "done");
  assert.deepEqual(smtpServer.logins.map((l) => l.split(":")[1]), ["alice"]);
  const separate = await eligible({ useSameSettingsForOutgoing: false, outgoingCredentials: { userName: "out", password: "out-pw" } });
  smtpServer.logins.length = 0;
  assert.equal(await sendMailbox(env.app.services, separate.id, { smtp }), "done");
  assert.deepEqual(smtpServer.logins.map((l) => l.split(":")[1]), ["out"]);
});

test("alert levels switched off are not stored at all; the ones on are", async () => {
  const cur = (await env.app.call("GET", "/api/settings")).body;
  await env.app.call("PUT", "/api/settings", { key: MASTER_KEY, body: { ...cur, alerts: { error: true, warning: false, information: false, notifyMailboxOwner: false } } });
  const closed = await freePort();
  const { id } = await eligible({ incoming: { host: "127.0.0.1", port: closed, useSsl: false } });
  assert.equal((await pollMailbox(env.app.services, id)).status, "failed");
  assert.equal((await env.app.call("GET", `/api/alerts?mailboxId=${id}`)).body.items.length, 0, "the warning of a postponement is not stored");
  await env.app.services.repos.mailboxes.update(id, (m) => ({ ...m, incoming: { ...m.incoming, postponedUntil: null } }));
  await handleTestMessage(env.app.services, { type: "mailbox", jobId: "00000000-0000-4000-8000-0000000000b1", mailboxId: id, applyDefaults: false });
  const alerts = (await env.app.call("GET", `/api/alerts?mailboxId=${id}`)).body.items;
  assert.deepEqual(alerts.map((a: any) => a.level), ["error"], "the failed test's error is stored; no information alert");
});

test("the first passing Test & Enable puts one information alert on the mailbox owner's wall, whatever notifyMailboxOwner says", async () => {
  const { id } = await eligible();
  const owner = (await env.app.call("GET", `/api/mailboxes/${id}`)).body.owner;
  for (let i = 0; i < 2; i++) {
    await handleTestMessage(env.app.services, { type: "mailbox", jobId: `00000000-0000-4000-8000-00000000000${i}`, mailboxId: id, applyDefaults: false });
  }
  const wall = (await env.app.call("GET", `/api/alerts?ownerId=${owner.id}`)).body.items;
  assert.deepEqual(wall.map((a: any) => [a.code, a.level, a.count]), [["MAILBOX_ENABLED", "information", 1]]);
});
