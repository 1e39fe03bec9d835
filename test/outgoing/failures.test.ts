import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { sendMailbox } from "../../shared/sync/outgoing/sendMailbox.js";
import { ScriptedSmtpServer } from "./support/smtpServer.js";
import { alertsFor, createSender, emailOf, postEmail, startOutgoingApp, type OutgoingApp } from "./support/fixture.js";

let env: OutgoingApp;
let server: ScriptedSmtpServer;
const smtp = { greetingTimeoutMs: 1000, socketTimeoutMs: 400 };
const FIVE_MINUTES = 5 * 60_000;

before(async () => {
  env = await startOutgoingApp();
  server = await ScriptedSmtpServer.start({ tls: "starttls" });
  await env.app.call("PATCH", "/api/settings", { body: { alerts: { warning: true } } });
});
after(async () => {
  await server?.close();
  await env?.app.stop();
});
beforeEach(() => {
  server.dataMode = "accept";
  server.refuseRcpt.clear();
  server.deferRcpt.clear();
});

async function oneEmail(body: Record<string, unknown> = {}): Promise<{ mailboxId: string; id: string; sha256: string; address: string }> {
  const s = await createSender(env.app, { port: server.port, useSsl: false });
  const e = await postEmail(env.app, { mailboxId: s.mailboxId, to: ["bob@fabrikam.test"], ...body });
  return { ...s, id: e.id, sha256: e.sha256 };
}
const run = (mailboxId: string) => sendMailbox(env.app.services, mailboxId, { smtp });
const copies = (sha256: string) => server.received.filter((r) => r.sha256 === sha256);
const mailbox = async (id: string) => (await env.app.services.repos.mailboxes.require(id)).doc;

describe("failures of one email", () => {
  test("4xx: back to pendingSend with attempts + 1, retried 5 minutes later, then sent", async () => {
    const e = await oneEmail();
    server.dataMode = "reject4xx";
    await run(e.mailboxId);
    const retry = await emailOf(env.app, e.id);
    assert.equal(retry.status, "pendingSend");
    assert.equal(retry.attempts, 1);
    assert.deepEqual([retry.error?.code, retry.error?.transient], ["SMTP_TRANSIENT_FAILURE", true]);
    assert.equal(retry.nextAttemptAt, new Date(env.clock.now().getTime() + FIVE_MINUTES).toISOString());
    assert.equal((await env.app.services.due.nextDue("outgoing", e.mailboxId))?.toISOString(), retry.nextAttemptAt);
    assert.equal((await mailbox(e.mailboxId)).outgoing.status, "success", "the connection worked");
    assert.ok((await alertsFor(env.app, e.mailboxId)).some((a) => a.level === "warning" && a.emailId === e.id));
    server.dataMode = "accept";
    assert.equal(await run(e.mailboxId), "nothingDue", "not before nextAttemptAt");
    env.clock.advance(FIVE_MINUTES);
    await run(e.mailboxId);
    const sent = await emailOf(env.app, e.id);
    assert.deepEqual([sent.status, sent.attempts, sent.error, sent.nextAttemptAt], ["sent", 2, null, null]);
  });

  test("the 10th transient failure fails the email", async () => {
    const e = await oneEmail();
    server.dataMode = "reject4xx";
    for (let i = 0; i < 10; i++) {
      await run(e.mailboxId);
      env.clock.advance(FIVE_MINUTES);
    }
    const failed = await emailOf(env.app, e.id);
    assert.deepEqual([failed.status, failed.attempts, failed.error?.transient, failed.nextAttemptAt], ["failed", 10, true, null]);
    assert.ok((await alertsFor(env.app, e.mailboxId)).some((a) => a.level === "error" && a.emailId === e.id));
    assert.equal((await mailbox(e.mailboxId)).stats.failed, 1);
  });

  test("5xx: failed at once with a permanent error and an error alert carrying emailId", async () => {
    const e = await oneEmail();
    server.dataMode = "reject5xx";
    await run(e.mailboxId);
    const failed = await emailOf(env.app, e.id);
    assert.deepEqual([failed.status, failed.attempts, failed.error?.code, failed.error?.transient], ["failed", 1, "SMTP_PERMANENT_FAILURE", false]);
    const alert = (await alertsFor(env.app, e.mailboxId)).find((a) => a.emailId === e.id);
    assert.equal(alert?.level, "error");
    assert.match(alert?.message ?? "", /554 5\.7\.1/);
    const m = await mailbox(e.mailboxId);
    assert.deepEqual([m.outgoing.status, m.outgoing.enabled, m.outgoing.lastError], ["success", true, null], "one email's failure is not the mailbox's");
  });

  test("recipients: one refused of two is sent with the refusal noted; all refused fails; 450 retries", async () => {
    server.refuseRcpt.add("nobody@fabrikam.test");
    const partial = await oneEmail({ to: ["bob@fabrikam.test", "nobody@fabrikam.test"] });
    await run(partial.mailboxId);
    const sent = await emailOf(env.app, partial.id);
    assert.equal(sent.status, "sent");
    assert.equal(sent.error?.code, "SMTP_RECIPIENT_REJECTED");
    assert.deepEqual(copies(partial.sha256).map((r) => r.to), [["bob@fabrikam.test"]]);
    assert.ok((await alertsFor(env.app, partial.mailboxId)).some((a) => a.level === "error" && a.emailId === partial.id));

    const none = await oneEmail({ to: ["nobody@fabrikam.test"] });
    await run(none.mailboxId);
    const failed = await emailOf(env.app, none.id);
    assert.deepEqual([failed.status, failed.error?.code, failed.error?.transient], ["failed", "SMTP_RECIPIENT_REJECTED", false]);

    server.deferRcpt.add("later@fabrikam.test");
    const deferred = await oneEmail({ to: ["later@fabrikam.test"] });
    await run(deferred.mailboxId);
    const retry = await emailOf(env.app, deferred.id);
    assert.deepEqual([retry.status, retry.error?.code, retry.error?.transient], ["pendingSend", "SMTP_TRANSIENT_FAILURE", true]);
  });

  test("a failed email does not stop the next one on the same connection", async () => {
    server.refuseRcpt.add("nobody@fabrikam.test");
    const s = await createSender(env.app, { port: server.port, useSsl: false });
    const bad = await postEmail(env.app, { mailboxId: s.mailboxId, to: ["nobody@fabrikam.test"] });
    const good = await postEmail(env.app, { mailboxId: s.mailboxId, to: ["bob@fabrikam.test"] });
    const before = server.connections;
    await run(s.mailboxId);
    assert.equal((await emailOf(env.app, bad.id)).status, "failed");
    assert.equal((await emailOf(env.app, good.id)).status, "sent");
    assert.equal(server.connections - before, 1);
  });

  test("connection dropped mid-data: nothing was delivered, so it is retried", async () => {
    const e = await oneEmail({ text: "x".repeat(200_000) });
    server.dataMode = "dropMidData";
    await run(e.mailboxId);
    const retry = await emailOf(env.app, e.id);
    assert.deepEqual([retry.status, retry.attempts, retry.error?.transient], ["pendingSend", 1, true]);
    assert.equal(copies(e.sha256).length, 0);
    server.dataMode = "accept";
    env.clock.advance(FIVE_MINUTES);
    await run(e.mailboxId);
    assert.equal((await emailOf(env.app, e.id)).status, "sent");
    assert.equal(copies(e.sha256).length, 1);
  });

  test("dropped or stalled after the end of data: outcome unknown, failed, never sent again", async () => {
    for (const mode of ["dropAfterData", "stallAfterData"] as const) {
      const e = await oneEmail();
      server.dataMode = mode;
      await run(e.mailboxId);
      const failed = await emailOf(env.app, e.id);
      assert.equal(failed.status, "failed", mode);
      assert.equal(failed.error?.code, "SEND_OUTCOME_UNKNOWN");
      assert.equal(failed.error?.transient, false);
      assert.match(failed.error?.message ?? "", /may have been delivered/);
      const alert = (await alertsFor(env.app, e.mailboxId)).find((a) => a.emailId === e.id && a.level === "error");
      assert.doesNotMatch(alert?.message ?? "", /retries automatically/);
      server.dataMode = "accept";
      env.clock.advance(FIVE_MINUTES);
      await run(e.mailboxId);
      assert.equal(copies(e.sha256).length, 1, `${mode}: the server got it once`);
    }
  });
});
