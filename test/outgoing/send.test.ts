import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { sendMailbox } from "../../shared/sync/outgoing/sendMailbox.js";
import { ScriptedSmtpServer, startSilentServer, TEST_CA } from "./support/smtpServer.js";
import { alertsFor, createSender, emailOf, postEmail, startOutgoingApp, type OutgoingApp } from "./support/fixture.js";

let env: OutgoingApp;
let starttls: ScriptedSmtpServer;
let implicit: ScriptedSmtpServer;
let untrusted: ScriptedSmtpServer;
let plain: ScriptedSmtpServer;
const smtp = { ca: TEST_CA, connectTimeoutMs: 2000, greetingTimeoutMs: 400, socketTimeoutMs: 2000 };

before(async () => {
  env = await startOutgoingApp();
  [starttls, implicit, untrusted, plain] = await Promise.all([
    ScriptedSmtpServer.start({ tls: "starttls" }),
    ScriptedSmtpServer.start({ tls: "implicit" }),
    ScriptedSmtpServer.start({ tls: "implicit", cert: "untrusted" }),
    ScriptedSmtpServer.start({ tls: "none" }),
  ]);
});
after(async () => {
  await Promise.all([starttls, implicit, untrusted, plain].map((s) => s?.close()));
  await env?.app.stop();
});

const mailbox = async (id: string) => (await env.app.services.repos.mailboxes.require(id)).doc;
const verified = { allowUntrustedCertificates: false };

describe("sending over SMTP", () => {
  test("STARTTLS + AUTH PLAIN: the server receives exactly the stored bytes, Bcc only in the envelope", async () => {
    const s = await createSender(env.app, { port: starttls.port, useSsl: false, authProtocol: "plain", profile: verified });
    const e = await postEmail(env.app, {
      mailboxId: s.mailboxId, to: ["bob@fabrikam.test"], bcc: ["dave@fabrikam.test"],
      text: "Hello\r\n.leading dot\r\n..two dots\r\n.\r\nend",
    });
    assert.equal(await sendMailbox(env.app.services, s.mailboxId, { smtp }), "done");
    const got = starttls.delivered().filter((r) => r.from === s.address);
    assert.equal(got.length, 1);
    const raw = await env.app.services.raw.downloadBuffer(`outgoing/${e.id}.eml`);
    assert.equal(got[0]?.sha256, e.sha256);
    assert.ok(got[0]?.bytes.equals(raw));
    assert.deepEqual(got[0]?.to.sort(), ["bob@fabrikam.test", "dave@fabrikam.test"]);
    assert.ok(starttls.logins.includes("PLAIN:alice"));
    const sent = await emailOf(env.app, e.id);
    assert.equal(sent.status, "sent");
    assert.equal(sent.sentAt, "2026-11-22T10:00:00.000Z");
    assert.equal(sent.attempts, 1);
    assert.equal(sent.error, null);
    const m = await mailbox(s.mailboxId);
    assert.equal(m.outgoing.status, "success");
    assert.equal(m.stats.sent, 1);
    assert.equal(await env.app.services.due.nextDue("outgoing", s.mailboxId), undefined, "nothing left: off the due index");
  });

  test("implicit TLS + AUTH LOGIN, several emails over one connection", async () => {
    const s = await createSender(env.app, { port: implicit.port, useSsl: true, authProtocol: "login", profile: verified });
    const before = implicit.connections;
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await postEmail(env.app, { mailboxId: s.mailboxId, to: ["bob@fabrikam.test"], subject: `n${i}` })).id);
    assert.equal(await sendMailbox(env.app.services, s.mailboxId, { smtp }), "done");
    assert.equal(implicit.connections - before, 1);
    assert.ok(implicit.logins.includes("LOGIN:alice"));
    for (const id of ids) assert.equal((await emailOf(env.app, id)).status, "sent");
    assert.equal(await sendMailbox(env.app.services, s.mailboxId, { smtp }), "nothingDue");
  });

  test("an untrusted certificate disables the mailbox (permanent) and leaves the email pending", async () => {
    const s = await createSender(env.app, { port: untrusted.port, useSsl: true, profile: verified });
    const e = await postEmail(env.app, { mailboxId: s.mailboxId, to: ["bob@fabrikam.test"] });
    assert.equal(await sendMailbox(env.app.services, s.mailboxId, { smtp }), "connectionFailed");
    const m = await mailbox(s.mailboxId);
    assert.equal(m.outgoing.lastError?.code, "TLS_CERTIFICATE_UNTRUSTED");
    assert.equal(m.outgoing.lastError?.transient, false);
    assert.equal(m.outgoing.enabled, false);
    assert.equal(m.outgoing.status, "failure");
    const email = await emailOf(env.app, e.id);
    assert.equal(email.status, "pendingSend");
    assert.equal(email.attempts, 0);
    const alerts = await alertsFor(env.app, s.mailboxId);
    assert.ok(alerts.some((a) => a.level === "error" && a.code === "TLS_CERTIFICATE_UNTRUSTED" && a.emailId === null));
    assert.equal(untrusted.received.length, 0);
  });

  test("no STARTTLS offered: TLS_REQUIRED before any credentials, unless the profile allows it", async () => {
    const s = await createSender(env.app, { port: plain.port, useSsl: false, profile: verified });
    await postEmail(env.app, { mailboxId: s.mailboxId, to: ["bob@fabrikam.test"] });
    assert.equal(await sendMailbox(env.app.services, s.mailboxId, { smtp }), "connectionFailed");
    assert.equal((await mailbox(s.mailboxId)).outgoing.lastError?.code, "TLS_REQUIRED");
    assert.deepEqual(plain.logins, [], "no credentials went over the clear channel");
    const ok = await createSender(env.app, { port: plain.port, useSsl: false, profile: { allowCredentialsOverInsecureChannels: true } });
    const e = await postEmail(env.app, { mailboxId: ok.mailboxId, to: ["bob@fabrikam.test"] });
    assert.equal(await sendMailbox(env.app.services, ok.mailboxId, { smtp }), "done");
    assert.equal((await emailOf(env.app, e.id)).status, "sent");
  });

  test("a refused login is the mailbox's: AUTH_FAILED disables it, the email is untouched", async () => {
    const s = await createSender(env.app, { port: starttls.port, useSsl: false, password: "wrong" });
    const e = await postEmail(env.app, { mailboxId: s.mailboxId, to: ["bob@fabrikam.test"] });
    assert.equal(await sendMailbox(env.app.services, s.mailboxId, { smtp }), "connectionFailed");
    const m = await mailbox(s.mailboxId);
    assert.equal(m.outgoing.lastError?.code, "AUTH_FAILED");
    assert.equal(m.outgoing.enabled, false);
    assert.equal((await emailOf(env.app, e.id)).attempts, 0);
  });

  test("a server that never greets: CONNECTION_TIMEOUT postpones the mailbox 5 minutes", async () => {
    const silent = await startSilentServer();
    try {
      const s = await createSender(env.app, { port: silent.port, useSsl: false });
      const e = await postEmail(env.app, { mailboxId: s.mailboxId, to: ["bob@fabrikam.test"] });
      assert.equal(await sendMailbox(env.app.services, s.mailboxId, { smtp }), "connectionFailed");
      const m = await mailbox(s.mailboxId);
      assert.equal(m.outgoing.lastError?.code, "CONNECTION_TIMEOUT");
      assert.equal(m.outgoing.lastError?.transient, true);
      assert.equal(m.outgoing.transientFailureCount, 1);
      assert.equal(m.outgoing.enabled, true);
      assert.equal(m.outgoing.postponedUntil, "2026-11-22T10:05:00.000Z");
      assert.equal((await env.app.services.due.nextDue("outgoing", s.mailboxId))?.toISOString(), "2026-11-22T10:05:00.000Z");
      assert.equal((await emailOf(env.app, e.id)).status, "pendingSend");
      assert.equal(await sendMailbox(env.app.services, s.mailboxId, { smtp }), "ineligible", "postponed");
    } finally {
      await silent.close();
    }
  });
});
