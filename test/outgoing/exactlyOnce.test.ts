import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { OUTGOING_LEASE_MS, OUTGOING_LEASE_PARTITION, sendMailbox } from "../../shared/sync/outgoing/sendMailbox.js";
import { sendOne } from "../../shared/sync/outgoing/sendOne.js";
import { markCommitted } from "../../shared/sync/outgoing/emailOutcome.js";
import { openSmtpSession } from "../../shared/smtp/session.js";
import type { EmailActivity } from "../../shared/domain/email.js";
import { ScriptedSmtpServer } from "./support/smtpServer.js";
import { alertsFor, createSender, emailOf, postEmail, startOutgoingApp, type OutgoingApp } from "./support/fixture.js";

let env: OutgoingApp;
let server: ScriptedSmtpServer;
before(async () => {
  env = await startOutgoingApp();
  server = await ScriptedSmtpServer.start({ tls: "starttls" });
});
after(async () => {
  await server?.close();
  await env?.app.stop();
});
beforeEach(() => { server.dataMode = "accept"; });

const copies = (sha256: string) => server.received.filter((r) => r.sha256 === sha256);
const run = (mailboxId: string) => sendMailbox(env.app.services, mailboxId, { smtp: { socketTimeoutMs: 2000 } });

describe("never sent twice", () => {
  test("a send a dead worker left in `sending` becomes failed (outcome unknown) once its lease is gone", async () => {
    const s = await createSender(env.app, { port: server.port, useSsl: false });
    const e = await postEmail(env.app, { mailboxId: s.mailboxId, to: ["bob@fabrikam.test"] });
    // The dead worker: it held the lease and wrote its commit, then vanished.
    const dead = await env.app.services.leases.tryAcquire(OUTGOING_LEASE_PARTITION, s.mailboxId, OUTGOING_LEASE_MS);
    assert.ok(dead);
    await env.app.services.emails.update(e.id, (doc) => markCommitted(doc, env.clock.now()));
    assert.equal(await run(s.mailboxId), "leaseHeld");
    assert.equal((await emailOf(env.app, e.id)).status, "sending");
    env.clock.advance(OUTGOING_LEASE_MS + 1);
    await run(s.mailboxId);
    const failed = await emailOf(env.app, e.id);
    assert.deepEqual([failed.status, failed.error?.transient, failed.attempts], ["failed", false, 1]);
    assert.match(failed.error?.message ?? "", /stopped before it recorded the server's answer/);
    assert.ok((await alertsFor(env.app, s.mailboxId)).some((a) => a.level === "error" && a.emailId === e.id));
    await run(s.mailboxId);
    assert.equal(copies(e.sha256).length, 0, "never sent again");
  });

  test("a cancel that lands before the commit: the end of data is never written", async () => {
    const s = await createSender(env.app, { port: server.port, useSsl: false });
    const e = await postEmail(env.app, { mailboxId: s.mailboxId, to: ["bob@fabrikam.test"] });
    const table = env.app.services.emails;
    const replace = table.replace.bind(table);
    table.replace = async (before: EmailActivity, next: EmailActivity, etag: string | undefined) => {
      if (next.status === "sending") assert.equal((await env.app.call("POST", `/api/emails/${e.id}/cancel`)).status, 200);
      return replace(before, next, etag);
    };
    try {
      assert.equal(await run(s.mailboxId), "done");
    } finally {
      table.replace = replace;
    }
    assert.equal((await emailOf(env.app, e.id)).status, "canceled");
    await sleep(50);
    assert.equal(copies(e.sha256).length, 0, "the server discarded the unterminated data");
  });

  test("a session that fails while the commit is written never releases the end of data", async () => {
    const s = await createSender(env.app, { port: server.port, useSsl: false });
    const e = await postEmail(env.app, { mailboxId: s.mailboxId, to: ["bob@fabrikam.test"] });
    const mailbox = (await env.app.services.repos.mailboxes.require(s.mailboxId)).doc;
    server.dataMode = "dropMidData";
    const session = await openSmtpSession({
      host: "127.0.0.1", port: server.port, useSsl: false, authProtocol: "auto",
      allowUntrustedCertificates: true, allowCredentialsOverInsecureChannels: false,
    }, { userName: "alice", password: "alice-pw" });
    let renewals = 0;
    const renew = async (): Promise<boolean> => { renewals++; await sleep(300); return true; };
    const outcome = await sendOne({ services: env.app.services, mailbox, session, renew, initialCounts: { sent: 0, failed: 0 } }, await env.app.services.emails.require(e.id));
    session.close();
    assert.equal(renewals, 1, "the commit had started when the server dropped the connection");
    assert.equal(outcome, "retry");
    const retry = await emailOf(env.app, e.id);
    assert.deepEqual([retry.status, retry.attempts, retry.error?.transient], ["pendingSend", 1, true]);
    assert.equal(copies(e.sha256).length, 0);
  });
});
