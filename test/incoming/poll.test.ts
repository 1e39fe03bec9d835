import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { startTestApp, type TestApp } from "../support/app.js";
import { enabledMailbox } from "../support/mailboxes.js";
import { Pop3TestServer } from "../support/pop3-server.js";
import { TRICKY_MESSAGES } from "../support/pop3-test-helpers.js";
import { pollMailbox } from "../../shared/sync/incoming/pollMailbox.js";
import { CONTAINERS } from "../../shared/storage/names.js";
import { emailsOf } from "../support/emails.js";

const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");
const msg = (id: string, extra = "", body = "hello\r\n"): Buffer =>
  Buffer.from(`Message-ID: <${id}@test>\r\nFrom: Bob <bob@fabrikam.test>\r\nTo: support@contoso.test\r\nSubject: hi ${id}\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\n${extra}\r\n${body}`);

let app: TestApp;
before(async () => {
  app = await startTestApp();
  await app.call("PATCH", "/api/settings", { body: { alerts: { warning: true } } });
});
after(async () => { await app?.stop(); });


describe("incoming sync", () => {
  test("every message comes back byte for byte, replies split at every byte; later polls create nothing", async () => {
    const messages = Object.values(TRICKY_MESSAGES);
    const server = await Pop3TestServer.start({ messages, split: "every-byte" });
    try {
      const { mailboxId } = await enabledMailbox(app, { port: server.port, address: "tricky@contoso.test" });
      const first = await pollMailbox(app.services, mailboxId);
      assert.equal(first.status, "done", JSON.stringify(first));
      const items = await emailsOf(app, mailboxId);
      assert.equal(items.length, messages.length);
      const expected = new Set(messages.map(sha));
      for (const e of items) {
        assert.ok(expected.has(e.sha256), `unexpected sha for ${e.subject}`);
        const raw = await fetch(`${app.url}/api/emails/${e.id}/raw`, { headers: { "x-functions-key": app.settings.API_KEY! } });
        assert.equal(raw.status, 200);
        assert.equal(raw.headers.get("content-type"), "message/rfc822");
        assert.equal(sha(Buffer.from(await raw.arrayBuffer())), e.sha256);
      }
      const retrs = server.count("RETR");
      for (let i = 0; i < 2; i++) assert.equal((await pollMailbox(app.services, mailboxId)).status, "done");
      assert.equal((await emailsOf(app, mailboxId)).length, messages.length);
      assert.equal(server.count("RETR"), retrs, "an empty poll fetches nothing");
      const mb = await app.call("GET", `/api/mailboxes/${mailboxId}`);
      assert.equal(mb.body.stats.received + mb.body.stats.quarantined, messages.length);
      assert.equal(mb.body.incomingStatus, "success");
      assert.ok(mb.body.lastSuccessfulSyncAt);
    } finally {
      await server.close();
    }
  });

  test("a connection dropped mid-RETR loses nothing and duplicates nothing on retry", async () => {
    const messages = [msg("drop-1"), msg("drop-2", "", "x".repeat(5000) + "\r\n"), msg("drop-3")];
    const server = await Pop3TestServer.start({ messages, dropRetrAfterBytes: 2000 });
    try {
      const { mailboxId } = await enabledMailbox(app, { port: server.port, address: "drop@contoso.test" });
      const first = await pollMailbox(app.services, mailboxId);
      assert.equal(first.status, "failed");
      if (first.status === "failed") assert.equal(first.code, "CONNECTION_LOST");
      const mb = (await app.call("GET", `/api/mailboxes/${mailboxId}`)).body;
      assert.equal(mb.transientFailureCount, 1);
      assert.ok(mb.postponedUntil);
      assert.equal(mb.lastError.code, "CONNECTION_LOST");
      assert.equal(mb.lastError.transient, true);
      const before = (await emailsOf(app, mailboxId)).length;
      assert.ok(before < 3);
      server.options.dropRetrAfterBytes = undefined;
      await app.services.repos.mailboxes.update(mailboxId, (m) => ({ ...m, incoming: { ...m.incoming, postponedUntil: null } }));
      assert.equal((await pollMailbox(app.services, mailboxId)).status, "done");
      const items = await emailsOf(app, mailboxId);
      assert.deepEqual(items.map((e) => e.messageId).sort(), ["<drop-1@test>", "<drop-2@test>", "<drop-3@test>"]);
      assert.deepEqual(new Set(items.map((e) => e.sha256)), new Set(messages.map(sha)));
      const after = (await app.call("GET", `/api/mailboxes/${mailboxId}`)).body;
      assert.equal(after.transientFailureCount, 0);
      assert.equal(after.lastError, null);
    } finally {
      await server.close();
    }
  });

  test("a drop mid-RETR of a message too big to hold (streamed upload) leaves no blob, and the retry stores it whole", async () => {
    const big = msg("drop-big", "", `${"y".repeat(998)}\r\n`.repeat(3 * 1024)); // 3 MiB, over the 1 MiB held in memory
    const messages = [msg("drop-small"), big];
    const server = await Pop3TestServer.start({ messages, dropRetrAfterBytes: 2 * 1024 * 1024 });
    try {
      const { mailboxId } = await enabledMailbox(app, { port: server.port, address: "drop-big@contoso.test" });
      const first = await pollMailbox(app.services, mailboxId);
      assert.equal(first.status === "failed" && first.code, "CONNECTION_LOST");
      const container = app.services.storage.blobs.getContainerClient(CONTAINERS.rawMessages);
      const blobs = async (): Promise<string[]> => {
        const names: string[] = [];
        for await (const b of container.listBlobsFlat({ prefix: `incoming/${mailboxId}/` })) names.push(b.name);
        return names;
      };
      // The small message keeps its bytes beside its activity (MAX_INLINE_RAW_BYTES), so no blob at all.
      assert.deepEqual(await blobs(), [], "the half-sent message was never committed");
      server.options.dropRetrAfterBytes = undefined;
      await app.services.repos.mailboxes.update(mailboxId, (m) => ({ ...m, incoming: { ...m.incoming, postponedUntil: null } }));
      assert.equal((await pollMailbox(app.services, mailboxId)).status, "done");
      const names = await blobs();
      assert.equal(names.length, 1, "only the big message has a blob");
      assert.match(names[0] ?? "", new RegExp(`^incoming/${mailboxId}/[0-9a-f]{16}/uid-2\\.eml$`), "named by mailbox, maildrop and UIDL");
      const items = await emailsOf(app, mailboxId);
      assert.deepEqual(new Set(items.map((e) => e.sha256)), new Set(messages.map(sha)));
      const raw = await app.call("GET", `/api/emails/${items.find((e) => e.messageId === "<drop-big@test>").id}/raw`);
      assert.equal(sha(Buffer.from(raw.text, "latin1")), sha(big));
    } finally {
      await server.close();
    }
  });

  test("the same queue message twice, or two workers at once, make each activity once", async () => {
    const messages = Array.from({ length: 8 }, (_, i) => msg(`twice-${i}`));
    const server = await Pop3TestServer.start({ messages, pipelining: true });
    try {
      const { mailboxId } = await enabledMailbox(app, { port: server.port, address: "twice@contoso.test" });
      const results = await Promise.all([pollMailbox(app.services, mailboxId), pollMailbox(app.services, mailboxId)]);
      assert.deepEqual(results.map((r) => r.status).sort(), ["busy", "done"]);
      await pollMailbox(app.services, mailboxId);
      assert.equal((await emailsOf(app, mailboxId)).length, 8);
    } finally {
      await server.close();
    }
  });

  test("one Message-ID in two mailboxes is one activity, found from either", async () => {
    const shared = msg("shared-1");
    const s1 = await Pop3TestServer.start({ messages: [shared] });
    const s2 = await Pop3TestServer.start({ messages: [shared] });
    try {
      const a = await enabledMailbox(app, { port: s1.port, address: "share-a@contoso.test" });
      const b = await enabledMailbox(app, { port: s2.port, address: "share-b@contoso.test" });
      await pollMailbox(app.services, a.mailboxId);
      await pollMailbox(app.services, b.mailboxId);
      const fromA = await emailsOf(app, a.mailboxId);
      const fromB = await emailsOf(app, b.mailboxId);
      assert.equal(fromA.length, 1);
      assert.equal(fromB.length, 1);
      assert.equal(fromA[0].id, fromB[0].id);
      assert.deepEqual(fromA[0].receivedByMailboxIds.sort(), [a.mailboxId, b.mailboxId].sort());
      // The activity keeps A's bytes (beside it: a small message has no blob); B's copy is not left behind.
      const blobsOf = async (mailboxId: string): Promise<string[]> => {
        const names: string[] = [];
        const container = app.services.storage.blobs.getContainerClient(CONTAINERS.rawMessages);
        for await (const blob of container.listBlobsFlat({ prefix: `incoming/${mailboxId}/` })) names.push(blob.name);
        return names;
      };
      assert.deepEqual(await blobsOf(b.mailboxId), []);
      assert.deepEqual(await blobsOf(a.mailboxId), []);
      const raw = await app.call("GET", `/api/emails/${fromB[0].id}/raw`);
      assert.equal(raw.status, 200);
      assert.equal(raw.text, shared.toString("latin1"));
    } finally {
      await s1.close();
      await s2.close();
    }
  });

  test("delete after processing removes only what became activities, after they are stored", async () => {
    const server = await Pop3TestServer.start({ messages: [msg("del-1"), msg("del-2")] });
    try {
      const { mailboxId } = await enabledMailbox(app, { port: server.port, address: "del@contoso.test", mailbox: { deleteEmailsAfterProcessing: true } });
      assert.equal((await pollMailbox(app.services, mailboxId)).status, "done");
      assert.equal(server.maildrop.length, 0);
      assert.equal((await emailsOf(app, mailboxId)).length, 2);
      assert.equal((await pollMailbox(app.services, mailboxId)).status, "done");
    } finally {
      await server.close();
    }
  });

  test("too large and unparsable mail is quarantined with an alert and does not block the rest", async () => {
    const big = msg("big-1", "", "y".repeat(3000) + "\r\n");
    const server = await Pop3TestServer.start({ messages: [big, Buffer.from("no header at all"), msg("after-bad")] });
    try {
      await app.call("PATCH", "/api/settings", { body: { maxMessageSizeKb: 2 } });
      const { mailboxId } = await enabledMailbox(app, { port: server.port, address: "quarantine@contoso.test" });
      assert.equal((await pollMailbox(app.services, mailboxId)).status, "done");
      const items = await emailsOf(app, mailboxId);
      const byStatus = (s: string) => items.filter((e) => e.status === s);
      assert.equal(byStatus("quarantined").length, 2);
      assert.equal(byStatus("received").length, 1);
      const tooLarge = items.find((e) => e.messageId === "<big-1@test>");
      assert.equal(tooLarge.error.code, "MESSAGE_TOO_LARGE");
      assert.equal(tooLarge.sha256, sha(big));
      const alerts = await app.call("GET", `/api/alerts?mailboxId=${mailboxId}&level=warning`);
      assert.ok(alerts.body.items.some((a: any) => a.code === "MESSAGE_TOO_LARGE" && a.message.includes("quarantine@contoso.test")));
      const mb = (await app.call("GET", `/api/mailboxes/${mailboxId}`)).body;
      assert.equal(mb.stats.quarantined, 2);
    } finally {
      await app.call("PATCH", "/api/settings", { body: { maxMessageSizeKb: 32768 } });
      await server.close();
    }
  });

  test("responsesToTracked keeps replies (In-Reply-To, smart matching) and counts the rest as skipped", async () => {
    const server = await Pop3TestServer.start({ messages: [msg("orig-1")] });
    const s2 = await Pop3TestServer.start({
      messages: [
        msg("reply-1", "In-Reply-To: <orig-1@test>\r\n"),
        msg("unrelated-1"),
        Buffer.from("Message-ID: <smart-1@test>\r\nFrom: bob@fabrikam.test\r\nTo: user@contoso.test\r\nSubject: RE: Hi orig-1\r\n\r\nok\r\n"),
      ],
    });
    try {
      const q = await enabledMailbox(app, { port: server.port, address: "support-src@contoso.test" });
      await pollMailbox(app.services, q.mailboxId);
      const u = await enabledMailbox(app, { port: s2.port, address: "user@contoso.test", ownerType: "user", ownerId: "u-track", mailbox: { incomingFilter: "responsesToTracked" } });
      await pollMailbox(app.services, u.mailboxId);
      const items = await emailsOf(app, u.mailboxId);
      const orig = (await emailsOf(app, q.mailboxId))[0];
      const reply = items.find((e) => e.messageId === "<reply-1@test>");
      assert.equal(reply.correlationMethod, "inReplyTo");
      assert.equal(reply.correlatedEmailId, orig.id);
      assert.equal(reply.conversationId, orig.conversationId);
      const smart = items.find((e) => e.messageId === "<smart-1@test>");
      assert.equal(smart.correlationMethod, "smartMatching");
      assert.ok(!items.some((e) => e.messageId === "<unrelated-1@test>"));
      const mb = (await app.call("GET", `/api/mailboxes/${u.mailboxId}`)).body;
      assert.equal(mb.stats.skipped, 1);
      const conv = await app.call("GET", `/api/emails?conversationId=${orig.conversationId}`);
      assert.ok(conv.body.items.length >= 2);
    } finally {
      await server.close();
      await s2.close();
    }
  });

  test("a wrong password disables incoming at once with an error alert that says what to do", async () => {
    const server = await Pop3TestServer.start({ messages: [msg("auth-1")] });
    try {
      const { mailboxId } = await enabledMailbox(app, { port: server.port, address: "wrongpw@contoso.test", password: "not-the-password" });
      const r = await pollMailbox(app.services, mailboxId);
      assert.deepEqual(r, { status: "failed", code: "AUTH_FAILED", outcome: "disabled" });
      const mb = (await app.call("GET", `/api/mailboxes/${mailboxId}`)).body;
      assert.equal(mb.incomingStatus, "failure");
      assert.equal(mb.enabledForIncoming, false);
      assert.equal(mb.lastError.transient, false);
      const alerts = (await app.call("GET", `/api/alerts?mailboxId=${mailboxId}&level=error`)).body.items;
      assert.equal(alerts.length, 1);
      assert.match(alerts[0].message, /wrongpw@contoso.test/);
      assert.match(alerts[0].message, /Test & Enable/);
      assert.ok(!JSON.stringify(alerts).includes("not-the-password"));
      assert.deepEqual(await pollMailbox(app.services, mailboxId), { status: "ineligible", reason: "notEnabled" });
    } finally {
      await server.close();
    }
  });

  test("STLS upgrade with certificate verification", async () => {
    const server = await Pop3TestServer.start({ messages: [msg("tls-1")], stls: true });
    try {
      const { mailboxId } = await enabledMailbox(app, { port: server.port, address: "tls@contoso.test", profile: { allowCredentialsOverInsecureChannels: false } });
      const { TEST_CA } = await import("../support/pop3-server.js");
      const r = await pollMailbox(app.services, mailboxId, { connectOverrides: { ca: TEST_CA } });
      assert.equal(r.status, "done", JSON.stringify(r));
      assert.equal(server.stats.credentialsInClear, false);
      assert.equal((await emailsOf(app, mailboxId)).length, 1);
    } finally {
      await server.close();
    }
  });
});
