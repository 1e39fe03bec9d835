/**
 * Outgoing against the real thing: Postfix (submission with STARTTLS and SASL through Dovecot,
 * smtps) delivering into the Maildirs Dovecot serves. Servers: scripts/e2e/setup.sh. Deliveries
 * go to bob and dave only (carol's Maildir belongs to the incoming tests). Each send is run
 * here with the e2e CA passed in; outgoingQueue.test.ts runs one through the queue trigger.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { simpleParser } from "mailparser";
import { definitions } from "../functions/definitions.js";
import { emailSendRoutes } from "../functions/emailsSend.js";
import { sendMailbox } from "../shared/sync/outgoing/sendMailbox.js";
import { MASTER_KEY, startTestApp, type TestApp } from "../test/support/app.js";
import { mailServers, waitForDelivery, type MailServers } from "./support/mailServers.js";

let app: TestApp;
let servers: MailServers;
before(async () => {
  servers = mailServers();
  // The test runs each send itself (with the test CA), so the queue trigger stays out.
  const mine = new Set([...emailSendRoutes.map((r) => r.name), "mailboxOutgoing"]);
  app = await startTestApp({ definitions: [...definitions.filter((d) => !mine.has(d.name)), ...emailSendRoutes] });
});
after(async () => { await app?.stop(); });

async function sender(user: string, login: string, outgoing: Record<string, unknown>): Promise<string> {
  const profile = await app.call("POST", "/api/profiles", {
    body: {
      name: `e2e ${user} ${randomBytes(3).toString("hex")}`,
      incoming: { host: servers.host, port: servers.pop3sPort, useSsl: true },
      outgoing: { host: servers.host, ...outgoing },
    },
  });
  assert.equal(profile.status, 201, profile.text);
  const mailbox = await app.call("POST", "/api/mailboxes", {
    body: {
      owner: { type: "user", id: `e2e-${user}`, name: user }, emailAddress: `${user}@${servers.domain}`, profileId: profile.body.id,
      credentials: { userName: login, password: servers.users[login] ?? "wrong-password" },
    },
  });
  assert.equal(mailbox.status, 201, mailbox.text);
  assert.equal((await app.call("POST", `/api/mailboxes/${mailbox.body.id}/approve`, { key: MASTER_KEY })).status, 200);
  await app.services.repos.mailboxes.update(mailbox.body.id, (m) => ({ ...m, outgoing: { ...m.outgoing, enabled: true } }));
  return mailbox.body.id;
}

const post = async (body: Record<string, unknown>) => {
  const res = await app.call("POST", "/api/emails", { body: { subject: "Quote request", text: "Hello", ...body } });
  assert.equal(res.status, 201, res.text);
  return res.body;
};
const email = async (id: string) => (await app.services.emails.require(id)).doc;
const alerts = async (mailboxId: string) => (await app.call("GET", `/api/alerts?mailboxId=${mailboxId}`)).body.items as Array<{ level: string; emailId: string | null; code: string }>;
const send = (mailboxId: string) => sendMailbox(app.services, mailboxId, { smtp: { ca: servers.ca } });

describe("outgoing through Postfix", () => {
  test("submission (STARTTLS, AUTH PLAIN): bob's Maildir gets the stored bytes, Message-ID, token and attachment", async () => {
    const alice = await sender("alice", "alice", { port: servers.submissionPort, useSsl: false, authProtocol: "plain" });
    const attachment = randomBytes(150_000);
    const e = await post({
      mailboxId: alice, to: [`bob@${servers.domain}`], text: "Hi Bob,\r\n.a line with a leading dot\r\nÜmlauts too.\r\n",
      attachments: [{ filename: "quote.pdf", contentType: "application/pdf", contentBase64: attachment.toString("base64") }],
    });
    assert.equal(await send(alice), "done");
    assert.equal((await email(e.id)).status, "sent");
    const delivered = await waitForDelivery(servers, "bob", e.messageId);
    const parsed = await simpleParser(delivered);
    assert.equal(parsed.messageId, e.messageId);
    assert.equal(parsed.subject, e.subject);
    assert.match(parsed.subject ?? "", / CRM:\d{7}$/);
    assert.ok(parsed.subject?.endsWith(` ${e.trackingToken}`));
    assert.deepEqual(parsed.attachments[0]?.content, attachment);
    // Postfix prepends trace headers and the Maildir keeps LF line ends; the rest is our bytes.
    const stored = await app.services.raw.downloadBuffer(`outgoing/${e.id}.eml`);
    assert.ok(delivered.toString("latin1").endsWith(stored.toString("latin1").replace(/\r\n/g, "\n")), "delivered = trace headers + the stored bytes");
  });

  test("smtps (implicit TLS, AUTH LOGIN) delivers too", async () => {
    const bob = await sender("bob", "bob", { port: servers.smtpsPort, useSsl: true, authProtocol: "login" });
    const e = await post({ mailboxId: bob, to: [`dave@${servers.domain}`], subject: "Re: Quote" });
    assert.equal(await send(bob), "done");
    const parsed = await simpleParser(await waitForDelivery(servers, "dave", e.messageId));
    assert.equal(parsed.subject, e.subject);
  });

  test("a relay refusal and a refused sender end failed with a permanent error and an error alert", async () => {
    const alice = (await app.call("GET", `/api/mailboxes?ownerType=user`)).body.items.find((m: { emailAddress: string }) => m.emailAddress === `alice@${servers.domain}`).id as string;
    const relay = await post({ mailboxId: alice, to: ["carol@elsewhere.test"] });
    await send(alice);
    const refused = await email(relay.id);
    assert.deepEqual([refused.status, refused.error?.code, refused.error?.transient], ["failed", "SMTP_RECIPIENT_REJECTED", false]);
    assert.match(refused.error?.message ?? "", /554 5\.7\.1 .*Relay access denied/);
    assert.ok((await alerts(alice)).some((a) => a.level === "error" && a.emailId === relay.id));

    // mallory logs in as alice: Postfix refuses the sender (reject_sender_login_mismatch).
    const mallory = await sender("mallory", "alice", { port: servers.submissionPort, useSsl: false });
    const spoof = await post({ mailboxId: mallory, to: [`bob@${servers.domain}`] });
    await send(mallory);
    const rejected = await email(spoof.id);
    assert.deepEqual([rejected.status, rejected.error?.code, rejected.error?.transient], ["failed", "SMTP_PERMANENT_FAILURE", false]);
    assert.match(rejected.error?.message ?? "", /553 5\.7\.1/);
    assert.ok((await alerts(mallory)).some((a) => a.level === "error" && a.emailId === spoof.id));
    const m = (await app.services.repos.mailboxes.require(mallory)).doc;
    assert.deepEqual([m.outgoing.enabled, m.outgoing.status], [true, "success"], "an email's refusal is not the mailbox's");
  });

  test("a wrong password is the mailbox's failure: AUTH_FAILED disables it, the email waits", async () => {
    const erin = await sender("erin", "nobody", { port: servers.submissionPort, useSsl: false });
    const e = await post({ mailboxId: erin, to: [`bob@${servers.domain}`] });
    assert.equal(await send(erin), "connectionFailed");
    const m = (await app.services.repos.mailboxes.require(erin)).doc;
    assert.deepEqual([m.outgoing.lastError?.code, m.outgoing.enabled, m.outgoing.status], ["AUTH_FAILED", false, "failure"]);
    assert.deepEqual([(await email(e.id)).status, (await email(e.id)).attempts], ["pendingSend", 0]);
  });
});
