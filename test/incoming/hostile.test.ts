/**
 * Hostile mail, one class at a time, through the real poll on Azurite: every message is filed
 * within the limits (shared/limits.ts) or quarantined with its cause, and the mailbox never
 * notices. test-fuzz/ pushes thousands of generated ones; these pin each rule down.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { startTestApp, type TestApp } from "../support/app.js";
import { enabledMailbox } from "../support/mailboxes.js";
import { Pop3TestServer } from "../support/pop3-server.js";
import { pollMailbox } from "../../shared/sync/incoming/pollMailbox.js";
import { AppError } from "../../shared/errors.js";
import { QUEUES, TABLES } from "../../shared/storage/names.js";
import { RestError } from "@azure/data-tables";
import { MAX_MESSAGE_ID_CHARS, MAX_RECIPIENTS_PER_FIELD, MAX_REFERENCES, MAX_SUBJECT_CHARS, CORRELATION_REFERENCES } from "../../shared/limits.js";
import { emailsOf, rawOf } from "../support/emails.js";

const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");
const msg = (headers: string, body = "hello\r\n"): Buffer =>
  Buffer.from(`From: Eve <eve@evil.test>\r\nTo: q@contoso.test\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\n${headers}\r\n${body}`);

let app: TestApp;
before(async () => {
  app = await startTestApp();
  await app.call("PATCH", "/api/settings", { body: { alerts: { warning: true } } });
});
after(async () => { await app?.stop(); });



/** Polls `messages` into a fresh queue mailbox; asserts the mailbox stayed healthy. */
async function pollAll(address: string, messages: Buffer[], mailbox: Record<string, unknown> = {}): Promise<{ mailboxId: string; items: any[]; server: Pop3TestServer }> {
  const server = await Pop3TestServer.start({ messages });
  try {
    const { mailboxId } = await enabledMailbox(app, { port: server.port, address, mailbox });
    const r = await pollMailbox(app.services, mailboxId);
    assert.equal(r.status, "done", JSON.stringify(r));
    const mb = (await app.call("GET", `/api/mailboxes/${mailboxId}`)).body;
    assert.equal(mb.incomingStatus, "success");
    assert.equal(mb.lastError, null);
    assert.equal(mb.transientFailureCount, 0);
    const items = await emailsOf(app, mailboxId);
    // Joined copies are listed too, but counted by the mailbox that created them.
    assert.equal(mb.stats.received + mb.stats.quarantined, items.filter((e) => e.mailboxId === mailboxId).length, "counters agree with the activities");
    return { mailboxId, items, server };
  } catch (err) {
    await server.close();
    throw err;
  }
}

describe("hostile mail", () => {
  test("oversized header values are cut to their limits and say so; /raw keeps them whole", async () => {
    const subject = "S".repeat(250_000);
    const refs = Array.from({ length: 5000 }, (_, i) => `<r${i}@evil.test>`).join(" ");
    const to = Array.from({ length: 3000 }, (_, i) => `u${i}@evil.test`).join(", ");
    const m = msg(`Message-ID: <big-headers@evil.test>\r\nSubject: ${subject}\r\nReferences: ${refs}\r\nCc: ${to}\r\n`);
    const { items, server } = await pollAll("caps@contoso.test", [m]);
    try {
      assert.equal(items.length, 1);
      const e = items[0];
      assert.equal(e.status, "received");
      assert.equal(e.subject.length, MAX_SUBJECT_CHARS);
      assert.equal(e.references.length, MAX_REFERENCES);
      assert.equal(e.references.at(-1), "<r4999@evil.test>", "the newest references are kept");
      assert.equal(e.cc.length, MAX_RECIPIENTS_PER_FIELD);
      const cut = Object.fromEntries(e.truncated.map((t: any) => [t.field, t]));
      assert.deepEqual(cut.subject, { field: "subject", kept: MAX_SUBJECT_CHARS, total: 250_000, unit: "characters" });
      assert.deepEqual(cut.references, { field: "references", kept: MAX_REFERENCES, total: 5000, unit: "items" });
      assert.deepEqual(cut.cc, { field: "cc", kept: MAX_RECIPIENTS_PER_FIELD, total: 3000, unit: "items" });
      assert.equal(sha(await rawOf(app, e.id)), sha(m));
    } finally {
      await server.close();
    }
  });

  test("Message-IDs of any length and character make storable keys; one over the limit is replaced by its digest", async () => {
    const odd = `<${"a/b\\c#d?e".repeat(66)}@evil.test>`; // 600 characters that Storage keys may not hold
    const long = `<${"x".repeat(MAX_MESSAGE_ID_CHARS + 10)}@evil.test>`;
    const messages = [msg(`Message-ID: ${odd}\r\nSubject: odd\r\n`), msg(`Message-ID: ${long}\r\nSubject: long\r\n`), msg("Message-ID: <>\r\nSubject: empty\r\n")];
    const { items, server } = await pollAll("ids@contoso.test", messages);
    try {
      assert.equal(items.length, 3);
      const by = Object.fromEntries(items.map((e) => [e.subject, e]));
      assert.equal(by.odd.messageId, odd);
      assert.match(by.long.messageId, /^<[0-9a-f]{64}@long-message-id\.invalid>$/);
      assert.match(by.empty.messageId, /@message-id\.invalid>$/, "an empty Message-ID counts as none");
      for (const e of items) assert.equal(e.status, "received");
    } finally {
      await server.close();
    }
  });

  test("a tracking token of hundreds of digits is no token; a reply with 5,000 References costs a bounded number of reads", async () => {
    const token = `CRM:${"9".repeat(400)}`;
    const refs = Array.from({ length: 5000 }, (_, i) => `<ref${i}@evil.test>`).join(" ");
    const emails = app.services.emails;
    let uniqueReads = 0;
    const original = emails.idByUniqueKey.bind(emails);
    emails.idByUniqueKey = async (key: string) => { uniqueReads++; return original(key); };
    try {
      const { items, server } = await pollAll("refs@contoso.test", [msg(`Message-ID: <tok@evil.test>\r\nSubject: hi ${token}\r\nIn-Reply-To: <ref0@evil.test>\r\nReferences: ${refs}\r\n`)]);
      await server.close();
      assert.equal(items[0].trackingToken, null);
      assert.equal(items[0].status, "received");
      // Correlation: In-Reply-To + CORRELATION_REFERENCES; saving: the Message-ID (and a race re-read at most).
      assert.ok(uniqueReads <= 1 + CORRELATION_REFERENCES + 2, `${uniqueReads} unique-key reads`);
    } finally {
      emails.idByUniqueKey = original;
    }
  });

  test("Storage refusing one message's activity quarantines that message, and the poll goes on", async () => {
    const emails = app.services.emails;
    const create = emails.create.bind(emails);
    emails.create = async (doc, options) => {
      if (doc.subject === "refused") throw new AppError("STORAGE_REFUSED", "Storage refused what was written (PropertyValueTooLarge).");
      return create(doc, options);
    };
    try {
      const messages = [msg("Message-ID: <ok-1@evil.test>\r\nSubject: fine\r\n"), msg("Message-ID: <refused@evil.test>\r\nSubject: refused\r\n"), msg("Message-ID: <ok-2@evil.test>\r\nSubject: fine too\r\n")];
      const { mailboxId, items, server } = await pollAll("refused@contoso.test", messages);
      await server.close();
      assert.equal(items.length, 3);
      const q = items.find((e) => e.messageId === "<refused@evil.test>");
      assert.equal(q.status, "quarantined");
      assert.equal(q.error.code, "MESSAGE_LIMIT_EXCEEDED");
      assert.match(q.error.message, /PropertyValueTooLarge/);
      assert.equal(sha(await rawOf(app, q.id)), sha(messages[1]!));
      const mb = (await app.call("GET", `/api/mailboxes/${mailboxId}`)).body;
      assert.deepEqual([mb.stats.received, mb.stats.quarantined], [2, 1]);
      const alerts = (await app.call("GET", `/api/alerts?mailboxId=${mailboxId}`)).body.items;
      assert.ok(alerts.some((a: any) => a.level === "warning" && a.code === "MESSAGE_LIMIT_EXCEEDED" && a.emailId === q.id && a.message.includes("refused@contoso.test")));
    } finally {
      emails.create = create;
    }
  });

  test("a bug while filing one message quarantines it as PROCESSING_FAILED; Storage being down fails the mailbox and loses nothing", async () => {
    const emails = app.services.emails;
    const lookupPage = emails.lookupPage.bind(emails);
    let mode: "bug" | "down" = "bug";
    emails.lookupPage = async (key, top, token) => {
      if (key.startsWith("subject:")) {
        if (mode === "bug") throw new TypeError("Cannot read properties of undefined (reading 'x')");
        throw new AppError("STORAGE_UNAVAILABLE", "Storage is not reachable or refused the request; retry later.");
      }
      return lookupPage(key, top, token);
    };
    try {
      // A reply, so smart matching looks the subject up (correlate.ts presentsAsReply).
      const bug = msg("Message-ID: <bug@evil.test>\r\nSubject: Re: trips a bug\r\n");
      const { items, server } = await pollAll("bug@contoso.test", [bug]);
      await server.close();
      assert.equal(items[0].status, "quarantined");
      assert.equal(items[0].error.code, "PROCESSING_FAILED");
      assert.match(items[0].error.message, /INTERNAL/);

      mode = "down";
      const down = await Pop3TestServer.start({ messages: [msg("Message-ID: <down@evil.test>\r\nSubject: RE: storage down\r\n")] });
      try {
        const { mailboxId } = await enabledMailbox(app, { port: down.port, address: "down@contoso.test" });
        const r = await pollMailbox(app.services, mailboxId);
        assert.equal(r.status === "failed" && r.code, "STORAGE_UNAVAILABLE");
        assert.equal((await emailsOf(app, mailboxId)).length, 0, "nothing quarantined for Storage's fault");
        emails.lookupPage = lookupPage;
        await app.services.repos.mailboxes.update(mailboxId, (m) => ({ ...m, incoming: { ...m.incoming, postponedUntil: null } }));
        assert.equal((await pollMailbox(app.services, mailboxId)).status, "done");
        const got = await emailsOf(app, mailboxId);
        assert.deepEqual(got.map((e) => [e.messageId, e.status]), [["<down@evil.test>", "received"]]);
      } finally {
        await down.close();
      }
    } finally {
      emails.lookupPage = lookupPage;
    }
  });

  test("a message over maxMessageSizeKb streams to its blob unparsed and is quarantined as MESSAGE_TOO_LARGE", async () => {
    await app.call("PATCH", "/api/settings", { body: { maxMessageSizeKb: 1024 } });
    const raws = app.services.raw;
    const downloadBuffer = raws.downloadBuffer.bind(raws);
    let downloads = 0;
    raws.downloadBuffer = async (name) => { downloads++; return downloadBuffer(name); };
    try {
      const big = msg("Message-ID: <huge@evil.test>\r\nSubject: huge\r\n", `${"z".repeat(998)}\r\n`.repeat(3 * 1024));
      const { items, server } = await pollAll("huge@contoso.test", [big, msg("Message-ID: <small@evil.test>\r\nSubject: small\r\n")]);
      await server.close();
      const q = items.find((e) => e.messageId === "<huge@evil.test>");
      assert.equal(q.status, "quarantined");
      assert.equal(q.error.code, "MESSAGE_TOO_LARGE");
      assert.equal(q.sizeBytes, big.length);
      assert.equal(sha(await rawOf(app, q.id)), sha(big));
      assert.equal(downloads, 0, "never read back to be parsed");
      assert.equal(items.find((e) => e.messageId === "<small@evil.test>").status, "received");
    } finally {
      raws.downloadBuffer = downloadBuffer;
      await app.call("PATCH", "/api/settings", { body: { maxMessageSizeKb: 32768 } });
    }
  });

  test("a message reusing another's Message-ID with other content is its own activity; a true copy joins", async () => {
    const real = msg("Message-ID: <shared@contoso.test>\r\nSubject: the real one\r\n", "real body\r\n");
    const fake = msg("Message-ID: <shared@contoso.test>\r\nSubject: the impostor\r\n", "fake body\r\n");
    const copy = Buffer.concat([Buffer.from("Received: from relay.test\r\nDelivered-To: b@contoso.test\r\n"), real]);
    const a = await pollAll("reuse-a@contoso.test", [real]);
    const b = await pollAll("reuse-b@contoso.test", [fake, copy]);
    try {
      assert.equal(a.items.length, 1);
      const realId = a.items[0].id;
      const bIds = b.items.map((e) => e.id);
      assert.ok(bIds.includes(realId), "the copy joined the real message's activity");
      const impostor = b.items.find((e) => e.id !== realId);
      assert.equal(impostor.subject, "the impostor");
      assert.equal(impostor.messageId, "<shared@contoso.test>");
      const realNow = (await app.call("GET", `/api/emails/${realId}`)).body;
      assert.deepEqual(realNow.receivedByMailboxIds.sort(), [a.mailboxId, b.mailboxId].sort());
      assert.deepEqual(impostor.receivedByMailboxIds, [b.mailboxId], "the impostor is listed for its own mailbox only");
      // Polled again from scratch, the impostor finds its own activity: no third one.
      const again = await pollAll("reuse-c@contoso.test", [fake]);
      await again.server.close();
      assert.deepEqual(again.items.map((e) => e.id), [impostor.id]);
    } finally {
      await a.server.close();
      await b.server.close();
    }
  });

  test("after the maildrop changes (another server, same UIDLs), new mail is fetched, not taken as seen, and never deleted unread", async () => {
    const first = await Pop3TestServer.start({ messages: [msg("Message-ID: <old@contoso.test>\r\nSubject: old\r\n")] });
    const second = await Pop3TestServer.start({ messages: [msg("Message-ID: <new@contoso.test>\r\nSubject: new\r\n")] });
    try {
      const { mailboxId, profileId } = await enabledMailbox(app, { port: first.port, address: "moved@contoso.test", mailbox: { deleteEmailsAfterProcessing: true } });
      assert.equal((await pollMailbox(app.services, mailboxId)).status, "done");
      assert.equal(first.count("DELE"), 1);
      await app.services.repos.profiles.update(profileId, (p) => ({ ...p, incoming: { ...p.incoming, port: second.port } }));
      // The same UIDL ("uid-1") now names another message: it must be fetched, then deleted.
      assert.equal((await pollMailbox(app.services, mailboxId)).status, "done");
      const items = await emailsOf(app, mailboxId);
      assert.deepEqual(items.map((e) => e.messageId).sort(), ["<new@contoso.test>", "<old@contoso.test>"]);
      assert.equal(second.count("RETR"), 1);
      assert.equal(second.count("DELE"), 1, "deleted only after its activity exists");
    } finally {
      await first.close();
      await second.close();
    }
  });

  test("a run stops at its time budget: what is durable stays, only processed mail is deleted, and it queues its continuation", async () => {
    const messages = [1, 2, 3].map((n) => msg(`Message-ID: <budget-${n}@contoso.test>\r\nSubject: budget ${n}\r\n`));
    const server = await Pop3TestServer.start({ messages });
    try {
      const { mailboxId } = await enabledMailbox(app, { port: server.port, address: "budget@contoso.test", mailbox: { deleteEmailsAfterProcessing: true } });
      // Watched at the sender: the host's own queue listener (or its scheduler's messages) may take
      // or crowd the queue before a peek could see the continuation.
      const sender = app.services.queue;
      const send = sender.send.bind(sender);
      const queued: unknown[] = [];
      sender.send = async (queue, message, options) => {
        if (queue === QUEUES.incoming) queued.push(message);
        return send(queue, message, options);
      };
      let first;
      try {
        first = await pollMailbox(app.services, mailboxId, { maxRunMs: 0 });
      } finally {
        sender.send = send;
      }
      assert.ok(first.status === "done" && first.more && first.fetched === 1, JSON.stringify(first));
      assert.equal(server.count("DELE"), 1, "only the processed message is deleted");
      assert.deepEqual(queued, [{ mailboxId }], "continuation queued");
      for (let i = 0; i < 3; i++) await pollMailbox(app.services, mailboxId, { maxRunMs: 0 });
      const items = await emailsOf(app, mailboxId);
      assert.deepEqual(items.map((e) => e.messageId).sort(), ["<budget-1@contoso.test>", "<budget-2@contoso.test>", "<budget-3@contoso.test>"]);
      assert.equal(server.count("RETR"), 3, "a stopped run requests nothing it does not process");
      const mb = (await app.call("GET", `/api/mailboxes/${mailboxId}`)).body;
      assert.equal(mb.stats.received, 3);
    } finally {
      await server.close();
    }
  });

  test("counters stay exact when a poll dies between an activity and its marker", async () => {
    const storage = app.services.storage;
    const table = storage.table.bind(storage);
    let failMarker = true;
    storage.table = (name) => {
      const client = table(name);
      if (name !== TABLES.coordination) return client;
      const submit = client.submitTransaction.bind(client);
      client.submitTransaction = async (actions) => {
        const marker = actions.some((a) => String((a[1] as { rowKey?: unknown }).rowKey).startsWith("m:"));
        if (marker && failMarker) {
          failMarker = false;
          throw new RestError("The server is busy.", { statusCode: 503 });
        }
        return submit(actions);
      };
      return client;
    };
    const server = await Pop3TestServer.start({ messages: [1, 2].map((n) => msg(`Message-ID: <gap-${n}@contoso.test>\r\nSubject: gap ${n}\r\n`)) });
    try {
      const { mailboxId } = await enabledMailbox(app, { port: server.port, address: "gap@contoso.test" });
      const first = await pollMailbox(app.services, mailboxId);
      assert.equal(first.status === "failed" && first.code, "STORAGE_UNAVAILABLE");
      // Markers are written in batches after the activities: both activities were written, no marker.
      assert.equal((await emailsOf(app, mailboxId)).length, 2, "the activities were written, their markers were not");
      await app.services.repos.mailboxes.update(mailboxId, (m) => ({ ...m, incoming: { ...m.incoming, postponedUntil: null } }));
      assert.equal((await pollMailbox(app.services, mailboxId)).status, "done");
      const items = await emailsOf(app, mailboxId);
      assert.equal(items.length, 2);
      const mb = (await app.call("GET", `/api/mailboxes/${mailboxId}`)).body;
      assert.equal(mb.stats.received, 2, "the activities the dead attempt wrote are counted once, by the attempt that marks them");
    } finally {
      storage.table = table;
      await server.close();
    }
  });
});
