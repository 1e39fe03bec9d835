/**
 * A forward mailbox files mail only under mailboxes the admin allowed to receive it (issue 10,
 * point 4): active, incoming method forwardMailbox, approved where approval is required, and not a
 * forward mailbox themselves. Everything else is skipped with a warning alert that says why.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startTestApp, MASTER_KEY, type TestApp } from "../support/app.js";
import { enabledMailbox } from "../support/mailboxes.js";
import { Pop3TestServer } from "../support/pop3-server.js";
import { pollMailbox } from "../../shared/sync/incoming/pollMailbox.js";

let app: TestApp;
before(async () => {
  app = await startTestApp();
  await app.call("PATCH", "/api/settings", { body: { alerts: { warning: true } } });
});
after(async () => { await app?.stop(); });

let seq = 0;
/** A user mailbox (port 1: never polled itself) that forwarded mail may be filed under. */
async function recipient(name: string, mailbox: Record<string, unknown> = {}, ownerType: "user" | "queue" = "user") {
  const address = `${name}@contoso.test`;
  const { mailboxId } = await enabledMailbox(app, {
    port: 1, address, ownerType, ownerId: `owner-${name}`, mailbox: { incomingMethod: "forwardMailbox", ...mailbox },
  });
  return { address, mailboxId };
}

const wrapped = (id: string, to: string[]): Buffer => {
  const inner = `Message-ID: <${id}@test>\r\nFrom: dave@fabrikam.test\r\nTo: ${to.join(", ")}\r\nSubject: for ${to[0]}\r\n\r\noriginal body\r\n`;
  return Buffer.from(`Message-ID: <wrap-${id}@test>\r\nSubject: FW\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=f\r\n\r\n` +
    `--f\r\nContent-Type: text/plain\r\n\r\nforwarded\r\n--f\r\nContent-Type: message/rfc822\r\n\r\n${inner}\r\n--f--\r\n`);
};

/** Polls a new forward mailbox holding one forwarded copy of a message sent to `to`. */
async function forward(to: string[]) {
  const id = `fwd-${++seq}`;
  const server = await Pop3TestServer.start({ messages: [wrapped(id, to)] });
  try {
    const sink = await enabledMailbox(app, { port: server.port, address: `sink-${seq}@contoso.test`, mailbox: { isForwardMailbox: true } });
    const r = await pollMailbox(app.services, sink.mailboxId);
    assert.equal(r.status, "done", JSON.stringify(r));
    const mb = (await app.call("GET", `/api/mailboxes/${sink.mailboxId}`)).body;
    const alerts = (await app.call("GET", `/api/alerts?mailboxId=${sink.mailboxId}&level=warning`)).body.items as any[];
    return { messageId: `<${id}@test>`, mb, alerts: alerts.filter((a) => a.code === "FORWARD_NO_MATCH") };
  } finally {
    await server.close();
  }
}

const emailsOf = async (mailboxId: string): Promise<any[]> => (await app.call("GET", `/api/emails?mailboxId=${mailboxId}`)).body.items;

/** The message was not filed anywhere: counted as skipped, one alert naming the mailbox and the reason. */
async function assertRefused(target: { address: string; mailboxId: string }, reason: RegExp) {
  const r = await forward([target.address]);
  assert.equal((await emailsOf(target.mailboxId)).length, 0, "nothing filed under the refused mailbox");
  assert.equal(r.mb.stats.skipped, 1);
  assert.equal(r.mb.stats.received, 0);
  assert.equal(r.alerts.length, 1);
  const message = r.alerts[0].message as string;
  assert.ok(message.includes(target.address), message);
  assert.match(message, reason);
  assert.match(message, /was not filed/);
}

test("a recipient mailbox with incoming method forwardMailbox, active and approved, gets the message", async () => {
  const ok = await recipient("fw-ok");
  const r = await forward([ok.address]);
  assert.deepEqual((await emailsOf(ok.mailboxId)).map((e) => e.messageId), [r.messageId]);
  assert.equal(r.mb.stats.skipped, 0);
  assert.equal(r.alerts.length, 0);
});

test("incoming method none or serverSideSync: skipped, the alert names the method", async () => {
  await assertRefused(await recipient("fw-none", { incomingMethod: "none" }), /incoming method is none, not forwardMailbox/);
  await assertRefused(await recipient("fw-sss", { incomingMethod: "serverSideSync" }), /incoming method is serverSideSync, not forwardMailbox/);
});

test("an inactive recipient mailbox: skipped", async () => {
  await assertRefused(await recipient("fw-inactive", { active: false }), /it is inactive/);
});

test("a recipient that is a forward mailbox itself: skipped", async () => {
  await assertRefused(await recipient("fw-other-sink", { isForwardMailbox: true }), /forward mailbox itself/);
});

test("not approved while approval is required: skipped; once the approver lifts the requirement, filed", async () => {
  const pending = await recipient("fw-rejected");
  assert.equal((await app.call("POST", `/api/mailboxes/${pending.mailboxId}/reject`, { key: MASTER_KEY })).status, 200);
  await assertRefused(pending, /not approved \(rejected\).*require approval for user mailboxes/);

  // Queues still need approval: the user rule does not open the door for them.
  const queue = await recipient("fw-queue", {}, "queue");
  assert.equal((await app.call("POST", `/api/mailboxes/${queue.mailboxId}/reject`, { key: MASTER_KEY })).status, 200);
  const relaxed = await app.call("PATCH", "/api/settings", { key: MASTER_KEY, body: { processEmailOnlyForApprovedUsers: false } });
  assert.equal(relaxed.status, 200, relaxed.text);
  try {
    const r = await forward([pending.address]);
    assert.deepEqual((await emailsOf(pending.mailboxId)).map((e) => e.messageId), [r.messageId]);
    await assertRefused(queue, /require approval for queue mailboxes/);
  } finally {
    await app.call("PATCH", "/api/settings", { key: MASTER_KEY, body: { processEmailOnlyForApprovedUsers: true } });
  }
});

test("refused recipients are passed over for the first allowed one; each refused one is named when none is allowed", async () => {
  const none = await recipient("fw-mixed-none", { incomingMethod: "none" });
  const inactive = await recipient("fw-mixed-inactive", { active: false, incomingMethod: "serverSideSync" });
  const ok = await recipient("fw-mixed-ok");
  const filed = await forward([none.address, inactive.address, ok.address]);
  assert.deepEqual((await emailsOf(ok.mailboxId)).map((e) => e.messageId), [filed.messageId]);
  assert.equal((await emailsOf(none.mailboxId)).length, 0);
  assert.equal(filed.alerts.length, 0);

  const refused = await forward([none.address, inactive.address, "nobody@contoso.test"]);
  assert.equal(refused.mb.stats.skipped, 1);
  const message = refused.alerts[0]?.message as string;
  assert.match(message, /recipient mailboxes may not receive forwarded mail/);
  assert.match(message, new RegExp(`${none.address} \\(its incoming method is none`));
  assert.match(message, new RegExp(`${inactive.address} \\(it is inactive; its incoming method is serverSideSync`));
});

test("a recipient without any mailbox is still the plain no-match alert", async () => {
  const r = await forward(["nobody-at-all@contoso.test"]);
  assert.equal(r.mb.stats.skipped, 1);
  assert.match(r.alerts[0]?.message ?? "", /no user or queue mailbox matches .*nobody-at-all@contoso\.test/);
});
