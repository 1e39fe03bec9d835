import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { startTestApp, type TestApp } from "../support/app.js";
import { enabledMailbox } from "../support/mailboxes.js";
import { Pop3TestServer } from "../support/pop3-server.js";
import { pollMailbox } from "../../shared/sync/incoming/pollMailbox.js";
import type { EmailActivity } from "../../shared/domain/email.js";

let app: TestApp;
before(async () => {
  app = await startTestApp();
  await app.call("PATCH", "/api/settings", { body: { alerts: { warning: true } } });
});
after(async () => { await app?.stop(); });

const mail = (id: string, headers: string, body = "hello\r\n"): Buffer =>
  Buffer.from(`Message-ID: <${id}@test>\r\n${headers}\r\n${body}`);

async function run(messages: Buffer[], address: string, mailbox: Record<string, unknown> = {}, profile: Record<string, unknown> = {}) {
  const server = await Pop3TestServer.start({ messages });
  try {
    const ids = await enabledMailbox(app, { port: server.port, address, mailbox, profile });
    const r = await pollMailbox(app.services, ids.mailboxId);
    assert.equal(r.status, "done", JSON.stringify(r));
    const items = (await app.call("GET", `/api/emails?mailboxId=${ids.mailboxId}`)).body.items as any[];
    const mb = (await app.call("GET", `/api/mailboxes/${ids.mailboxId}`)).body;
    return { ...ids, items, mb, server };
  } finally {
    await server.close();
  }
}

test("mail dated before processEmailReceivedAfter (or the profile's processEmailFrom) is skipped", async () => {
  const { items, mb } = await run([
    mail("old-1", "Date: Mon, 01 Jan 2024 10:00:00 +0000\r\nSubject: old\r\n"),
    mail("new-1", "Date: Sun, 22 Nov 2026 10:00:00 +0000\r\nSubject: new\r\n"),
    mail("nodate-1", "Subject: no date: fetch time counts\r\n"),
  ], "cutoff@contoso.test", {}, { processEmailFrom: "2025-01-01T00:00:00.000Z" });
  assert.deepEqual(items.map((e) => e.messageId).sort(), ["<new-1@test>", "<nodate-1@test>"]);
  assert.equal(mb.stats.skipped, 1);
  const override = await run([mail("mid-1", "Date: Sun, 01 Jun 2025 10:00:00 +0000\r\nSubject: mid\r\n")], "cutoff2@contoso.test",
    { processEmailReceivedAfter: "2026-01-01T00:00:00.000Z" }, { processEmailFrom: "2025-01-01T00:00:00.000Z", name: "cutoff2" });
  assert.equal(override.items.length, 0);
});

test("fromKnownContacts and fromEmailEnabledRecords", async () => {
  await app.call("POST", "/api/contacts", { body: { type: "contact", name: "Known", emailAddress: "known@fabrikam.test" } });
  const msgs = [mail("k-1", "From: known@fabrikam.test\r\nSubject: a\r\n"), mail("k-2", "From: stranger@fabrikam.test\r\nSubject: b\r\n"), mail("k-3", "From: cutoff@contoso.test\r\nSubject: c\r\n")];
  const known = await run(msgs, "known-filter@contoso.test", { incomingFilter: "fromKnownContacts" });
  assert.deepEqual(known.items.map((e) => e.messageId), ["<k-1@test>"]);
  const enabled = await run(msgs, "enabled-filter@contoso.test", { incomingFilter: "fromEmailEnabledRecords" }, { name: "enabled-filter" });
  // k-1 and k-3 are already activities (from the first mailbox / an earlier test): this mailbox joins them.
  assert.deepEqual(enabled.items.map((e) => e.messageId).sort(), ["<k-1@test>", "<k-3@test>"]);
  const none = await run([mail("n-1", "Subject: x\r\n")], "none-filter@contoso.test", { incomingFilter: "none" }, { name: "none-filter" });
  assert.equal(none.items.length, 0);
  assert.equal(none.mb.stats.skipped, 1);
});

test("a tracking token in the subject correlates a reply that kept nothing else", async () => {
  const now = new Date().toISOString();
  const sent: EmailActivity = {
    id: randomUUID(), createdAt: now, updatedAt: now, mailboxId: "m-sender", direction: "outgoing", status: "sent", messageId: "<sent-tt@contoso.test>",
    inReplyTo: null, references: [], conversationId: "conv-tt", trackingToken: "CRM:0001007", correlatedEmailId: null, correlationMethod: "none",
    from: { address: "alice@contoso.test", name: "" }, to: [{ address: "bob@fabrikam.test", name: "" }], cc: [], bcc: [], subject: "Quote CRM:0001007",
    textBody: "", htmlBody: null, attachments: [], sizeBytes: 0, sha256: "", receivedAt: null, sentAt: now, error: null, attempts: 1, nextAttemptAt: null,
    receivedByMailboxIds: [], rawBlob: null, normalizedSubject: "quote crm:0001007",
  };
  await app.services.emails.create(sent);
  const { items } = await run([mail("tt-reply", "From: bob@fabrikam.test\r\nSubject: Totally new words crm:0001007\r\n")], "tt@contoso.test", { incomingFilter: "responsesToTracked" }, { name: "tt" });
  assert.equal(items.length, 1);
  assert.equal(items[0].correlationMethod, "trackingToken");
  assert.equal(items[0].correlatedEmailId, sent.id);
  assert.equal(items[0].conversationId, "conv-tt");
});

test("mail from strangers quoting a tracking token cannot crowd the email that issued it out of correlation", async () => {
  const now = new Date().toISOString();
  const sent: EmailActivity = {
    // An id that sorts after every other: the bounded lookup reads rows in id order.
    id: `ffffffff-ffff-4fff-bfff-${randomUUID().slice(-12)}`, createdAt: now, updatedAt: now, mailboxId: "m-sender", direction: "outgoing", status: "sent", messageId: "<sent-tt9@contoso.test>",
    inReplyTo: null, references: [], conversationId: "conv-tt9", trackingToken: "CRM:0001009", correlatedEmailId: null, correlationMethod: "none",
    from: { address: "alice@contoso.test", name: "" }, to: [{ address: "bob@fabrikam.test", name: "" }], cc: [], bcc: [], subject: "Quote CRM:0001009",
    textBody: "", htmlBody: null, attachments: [], sizeBytes: 0, sha256: "", receivedAt: null, sentAt: now, error: null, attempts: 1, nextAttemptAt: null,
    receivedByMailboxIds: [], rawBlob: null, normalizedSubject: "quote crm:0001009",
  };
  await app.services.emails.create(sent);
  // Twenty messages quoting the token arrive first (more than the bounded token lookup reads).
  const noise = Array.from({ length: 20 }, (_, i) => mail(`tt9-noise-${i}`, `From: x${i}@elsewhere.test\r\nSubject: Spam CRM:0001009\r\n`));
  await run(noise, "tt9-noise@contoso.test", { incomingFilter: "all" }, { name: "tt9-noise" });
  const { items } = await run([mail("tt9-reply", "From: bob@fabrikam.test\r\nSubject: Price list CRM:0001009\r\n")], "tt9@contoso.test", { incomingFilter: "responsesToTracked" }, { name: "tt9" });
  assert.equal(items.length, 1);
  assert.equal(items[0].correlationMethod, "trackingToken");
  assert.equal(items[0].correlatedEmailId, sent.id, "the issuer, not one of the strangers' messages");
});

test("attachments over maxAttachmentSizeKb are left out with a warning", async () => {
  await app.call("PATCH", "/api/settings", { body: { maxAttachmentSizeKb: 1 } });
  try {
    const big = Buffer.alloc(3000, 7).toString("base64").replace(/.{76}/g, "$&\r\n");
    const body = `--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="big.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n${big}\r\n--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename="small.txt"\r\n\r\ntiny\r\n--b--\r\n`;
    const { items, mailboxId } = await run([mail("att-1", "Subject: att\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n", body)], "att@contoso.test", {}, { name: "att" });
    assert.deepEqual(items[0].attachments.map((a: any) => a.filename), ["small.txt"]);
    const alerts = (await app.call("GET", `/api/alerts?mailboxId=${mailboxId}&level=warning`)).body.items;
    assert.ok(alerts.some((a: any) => a.code === "ATTACHMENT_TOO_LARGE" && a.message.includes("big.bin")));
  } finally {
    await app.call("PATCH", "/api/settings", { body: { maxAttachmentSizeKb: 5120 } });
  }
});

test("a forward mailbox files the attached original under the recipient's mailbox, or alerts", async () => {
  const user = await enabledMailbox(app, { port: 1, address: "carol@contoso.test", ownerType: "user", ownerId: "u-carol", profile: { name: "carol" }, mailbox: { incomingMethod: "forwardMailbox" } });
  const original = "Message-ID: <orig-fwd@test>\r\nFrom: dave@fabrikam.test\r\nTo: carol@contoso.test\r\nSubject: for carol\r\n\r\noriginal body\r\n";
  const wrap = (id: string, inner: string) => mail(id, "Subject: FW\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=f\r\n",
    `--f\r\nContent-Type: text/plain\r\n\r\nforwarded\r\n--f\r\nContent-Type: message/rfc822\r\n\r\n${inner}\r\n--f--\r\n`);
  const noMatch = original.replace("carol@contoso.test", "nobody@contoso.test").replace("orig-fwd", "orig-nomatch");
  const fwd = await run([wrap("wrap-1", original), wrap("wrap-2", noMatch)], "sink@contoso.test", { isForwardMailbox: true }, { name: "sink" });
  assert.equal(fwd.items.length, 0);
  const carols = (await app.call("GET", `/api/emails?mailboxId=${user.mailboxId}`)).body.items;
  assert.equal(carols.length, 1);
  assert.equal(carols[0].messageId, "<orig-fwd@test>");
  const raw = await fetch(`${app.url}/api/emails/${carols[0].id}/raw`, { headers: { "x-functions-key": app.settings.API_KEY! } });
  assert.match(await raw.text(), /^Message-ID: <orig-fwd@test>/);
  const alerts = (await app.call("GET", `/api/alerts?mailboxId=${fwd.mailboxId}&level=warning`)).body.items;
  assert.ok(alerts.some((a: any) => a.code === "FORWARD_NO_MATCH" && a.message.includes("nobody@contoso.test")));
});

test("a message whose bodies do not fit a table row is still received, its raw bytes whole", async () => {
  const body = "0123456789 ".repeat(40_000) + "\r\n";
  const bytes = mail("huge-body", "Subject: huge body\r\n", body);
  const { items } = await run([bytes], "hugebody@contoso.test", {}, { name: "hugebody" });
  assert.equal(items.length, 1);
  assert.ok(items[0].textBody.startsWith("0123456789 0123456789"));
  const raw = await fetch(`${app.url}/api/emails/${items[0].id}/raw`, { headers: { "x-functions-key": app.settings.API_KEY! } });
  assert.equal(Buffer.from(await raw.arrayBuffer()).length, bytes.length);
});
