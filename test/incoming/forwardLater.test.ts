/**
 * A forwarded message whose recipients match no mailbox allowed to receive it is not "seen
 * forever" (issue 11, smaller points; decision 0017): it stays on the server, is parked, and is
 * matched again after 1 hour, then twice as long each time up to a day, at most
 * MAX_FORWARD_RECONSIDERATIONS times, so a mailbox created or approved later still gets it, once,
 * with the forward mailbox's counters moved from skipped to received.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startTestApp, MASTER_KEY, type TestApp } from "../support/app.js";
import { enabledMailbox } from "../support/mailboxes.js";
import { emailsOf } from "../support/emails.js";
import { Pop3TestServer } from "../support/pop3-server.js";
import { ManualClock } from "../../shared/runtime/clock.js";
import { definitions } from "../../functions/definitions.js";
import { pollMailbox } from "../../shared/sync/incoming/pollMailbox.js";
import { forwardRetry } from "../../shared/sync/incoming/reconsider.js";
import { FORWARD_RECONSIDER_MAX_MS, MAX_FORWARD_RECONSIDERATIONS } from "../../shared/limits.js";

const HOUR = 60 * 60_000;
const clock = new ManualClock("2026-12-02T12:00:00.000Z");
let app: TestApp;
before(async () => {
  // HTTP only: no queue trigger polls behind the test's back.
  app = await startTestApp({ overrides: { clock }, definitions: definitions.filter((d) => d.kind === "http") });
  await app.call("PATCH", "/api/settings", { body: { alerts: { warning: true } } });
});
after(async () => { await app?.stop(); });

const wrapped = (id: string, to: string): Buffer => {
  const inner = `Message-ID: <${id}@later.test>\r\nFrom: dave@fabrikam.test\r\nTo: ${to}\r\nSubject: for ${to}\r\n\r\noriginal body\r\n`;
  return Buffer.from(`Message-ID: <wrap-${id}@later.test>\r\nSubject: FW\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=f\r\n\r\n` +
    `--f\r\nContent-Type: text/plain\r\n\r\nforwarded\r\n--f\r\nContent-Type: message/rfc822\r\n\r\n${inner}\r\n--f--\r\n`);
};

let seq = 0;
async function sinkOn(server: Pop3TestServer, mailbox: Record<string, unknown> = {}) {
  return enabledMailbox(app, { port: server.port, address: `later-sink-${++seq}@contoso.test`, mailbox: { isForwardMailbox: true, ...mailbox } });
}

async function fetched(mailboxId: string): Promise<number> {
  const r = await pollMailbox(app.services, mailboxId);
  assert.ok(r.status === "done", JSON.stringify(r));
  return r.fetched;
}

const statsOf = async (mailboxId: string) => (await app.call("GET", `/api/mailboxes/${mailboxId}`)).body.stats;
const noMatchAlerts = async (mailboxId: string): Promise<any[]> =>
  ((await app.call("GET", `/api/alerts?mailboxId=${mailboxId}&level=warning`)).body.items as any[]).filter((a) => a.code === "FORWARD_NO_MATCH");

test("the wait doubles from an hour up to a day, and stops after MAX_FORWARD_RECONSIDERATIONS", () => {
  const now = new Date("2026-12-02T00:00:00.000Z");
  const first = forwardRetry(undefined, now);
  assert.deepEqual(first, { attempts: 1, retryAt: "2026-12-02T01:00:00.000Z" });
  const second = forwardRetry({ outcome: "noMatch", emailId: null, deletable: false, ...first }, now);
  assert.deepEqual(second, { attempts: 2, retryAt: "2026-12-02T02:00:00.000Z" });
  const late = forwardRetry({ outcome: "noMatch", emailId: null, deletable: false, attempts: 9 }, now);
  assert.equal(Date.parse(late.retryAt ?? "") - now.getTime(), FORWARD_RECONSIDER_MAX_MS);
  assert.deepEqual(forwardRetry({ outcome: "noMatch", emailId: null, deletable: false, attempts: MAX_FORWARD_RECONSIDERATIONS }, now),
    { attempts: MAX_FORWARD_RECONSIDERATIONS + 1 });
});

test("a recipient mailbox created later gets the forwarded message once; it stays on the server until then", async () => {
  const id = `late-${++seq}`;
  const address = `${id}@contoso.test`;
  const server = await Pop3TestServer.start({ messages: [wrapped(id, address)] });
  try {
    const sink = await sinkOn(server, { deleteEmailsAfterProcessing: true });
    assert.equal(await fetched(sink.mailboxId), 1);
    assert.deepEqual(await statsOf(sink.mailboxId), { received: 0, sent: 0, failed: 0, skipped: 1, quarantined: 0 });
    assert.equal(server.maildrop.length, 1, "not filed, so not deleted");
    const [alert] = await noMatchAlerts(sink.mailboxId);
    assert.match(alert.message, /matched again for about 10 days/);

    // Not due yet: not fetched again.
    clock.advance(30 * 60_000);
    assert.equal(await fetched(sink.mailboxId), 0);

    const target = await enabledMailbox(app, { port: 1, address, ownerType: "user", ownerId: `owner-${address}`, mailbox: { incomingMethod: "forwardMailbox" } });
    clock.advance(31 * 60_000);
    assert.equal(await fetched(sink.mailboxId), 1);
    assert.deepEqual((await emailsOf(app, target.mailboxId)).map((e) => e.messageId), [`<${id}@later.test>`]);
    assert.deepEqual(await statsOf(sink.mailboxId), { received: 1, sent: 0, failed: 0, skipped: 0, quarantined: 0 });
    assert.equal(server.maildrop.length, 0, "filed now, so deleted now");
    const alerts = await noMatchAlerts(sink.mailboxId);
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0].count, 1, "looking again raises no second alert");

    clock.advance(48 * HOUR);
    assert.equal(await fetched(sink.mailboxId), 0);
    assert.equal((await emailsOf(app, target.mailboxId)).length, 1);
  } finally {
    await server.close();
  }
});

test("a recipient approved later gets it too; looking again is bounded and stops after MAX_FORWARD_RECONSIDERATIONS", async () => {
  const approvedLater = `approved-later-${++seq}@contoso.test`;
  const nobody = `nobody-${seq}@contoso.test`;
  const server = await Pop3TestServer.start({ messages: [wrapped(`appr-${seq}`, approvedLater), wrapped(`never-${seq}`, nobody)] });
  try {
    const created = await app.call("POST", "/api/mailboxes", {
      body: { owner: { type: "user", id: `owner-${approvedLater}` }, emailAddress: approvedLater, incomingMethod: "forwardMailbox", incomingFilter: "all" },
    });
    assert.equal(created.status, 201, created.text);
    const sink = await sinkOn(server);
    assert.equal(await fetched(sink.mailboxId), 2);
    assert.equal((await emailsOf(app, created.body.id)).length, 0, "not approved: refused");

    assert.equal((await app.call("POST", `/api/mailboxes/${created.body.id}/approve`, { key: MASTER_KEY })).status, 200);
    clock.advance(HOUR);
    assert.equal(await fetched(sink.mailboxId), 2);
    assert.equal((await emailsOf(app, created.body.id)).length, 1);
    assert.deepEqual(await statsOf(sink.mailboxId), { received: 1, sent: 0, failed: 0, skipped: 1, quarantined: 0 });

    // The one nobody will ever receive: looked at MAX_FORWARD_RECONSIDERATIONS times after the first, then settled.
    const retrs = (): number => server.stats.commands.filter((c) => c.line === "RETR 2").length;
    for (let i = 0; i < MAX_FORWARD_RECONSIDERATIONS + 3; i++) {
      clock.advance(FORWARD_RECONSIDER_MAX_MS);
      await fetched(sink.mailboxId);
    }
    assert.equal(retrs(), 1 + MAX_FORWARD_RECONSIDERATIONS);
    assert.equal(server.maildrop.length, 2, "deleteEmailsAfterProcessing is off");
    assert.deepEqual(await statsOf(sink.mailboxId), { received: 1, sent: 0, failed: 0, skipped: 1, quarantined: 0 });
    assert.equal((await noMatchAlerts(sink.mailboxId))[0].count, 2, "one alert per message, none for looking again");
  } finally {
    await server.close();
  }
});

test("a message that carries no forwarded original is settled at once: never fetched again", async () => {
  const server = await Pop3TestServer.start({ messages: [Buffer.from("Message-ID: <plain@later.test>\r\nSubject: not a forward\r\n\r\nhi\r\n")] });
  try {
    const sink = await sinkOn(server);
    assert.equal(await fetched(sink.mailboxId), 1);
    clock.advance(48 * HOUR);
    assert.equal(await fetched(sink.mailboxId), 0);
    assert.equal((await statsOf(sink.mailboxId)).skipped, 1);
  } finally {
    await server.close();
  }
});
