/**
 * Ingest at cloud latency (issue 15): messages of one mailbox are stored and filed several at a
 * time, markers go in batches, the pre-fetch reads markers with a range query, and correlation
 * queries Storage only when a message gives it something to look for. The guarantees stay: a
 * thread in a backlog is filed in order, counters are exact, alerts fold under concurrency.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { Readable } from "node:stream";
import { startTestApp, type TestApp } from "../support/app.js";
import { enabledMailbox } from "../support/mailboxes.js";
import { emailsOf } from "../support/emails.js";
import { Pop3TestServer } from "../support/pop3-server.js";
import { pollMailbox, PIPELINE_WINDOW } from "../../shared/sync/incoming/pollMailbox.js";
import { TABLES } from "../../shared/storage/names.js";
import type { RawUpload, UploadOptions } from "../../shared/storage/rawStore.js";

let app: TestApp;
before(async () => { app = await startTestApp(); });
after(async () => { await app?.stop(); });

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mail = (id: string, subject: string, extra = ""): Buffer =>
  Buffer.from(`Message-ID: <${id}@pipe.test>\r\nFrom: Bob <bob@fabrikam.test>\r\nTo: support@contoso.test\r\nSubject: ${subject}\r\n${extra}\r\nbody of ${id}\r\n`);

/** Wraps the raw store's upload: `delay` per message, and the most uploads seen at once. */
function slowUploads(delay: (bytes: Buffer) => number): { peak: () => number; restore: () => void } {
  const raw = app.services.raw;
  const upload = raw.upload.bind(raw);
  let now = 0;
  let peak = 0;
  raw.upload = async (name: string, source: Readable, options?: UploadOptions): Promise<RawUpload> => {
    now++;
    peak = Math.max(peak, now);
    try {
      const result = await upload(name, source, options);
      await sleep(delay(result.bytes ?? Buffer.alloc(0)));
      return result;
    } finally {
      now--;
    }
  };
  return { peak: () => peak, restore: () => { raw.upload = upload; } };
}

test("a backlog holding threads is filed in order although messages are stored several at a time", async () => {
  // 12 threads of 4: a root, a reply by In-Reply-To, a reply by References, and an "RE:" reply
  // found by smart matching. Roots are stored slowly, so without ordering their replies would be
  // filed first and correlate with nothing.
  const messages: Buffer[] = [];
  for (let t = 0; t < 12; t++) {
    messages.push(mail(`root-${t}`, `Thread ${t}`));
    messages.push(mail(`r1-${t}`, `Re: Thread ${t}`, `In-Reply-To: <root-${t}@pipe.test>\r\n`));
    messages.push(mail(`r2-${t}`, `Re: Thread ${t}`, `References: <root-${t}@pipe.test> <r1-${t}@pipe.test>\r\n`));
    messages.push(mail(`r3-${t}`, `RE: thread ${t}`));
  }
  const slow = slowUploads((bytes) => (bytes.toString("latin1").includes("Message-ID: <root-") ? 60 : 5));
  const server = await Pop3TestServer.start({ messages });
  try {
    const { mailboxId } = await enabledMailbox(app, { port: server.port, address: "threads@contoso.test" });
    const result = await pollMailbox(app.services, mailboxId);
    assert.equal(result.status, "done");
    assert.ok(slow.peak() > 1 && slow.peak() <= PIPELINE_WINDOW, `messages overlapped, within the window (peak ${slow.peak()})`);
    const items = await emailsOf(app, mailboxId);
    assert.equal(items.length, messages.length);
    const byId = new Map(items.map((e) => [e.messageId, e]));
    for (let t = 0; t < 12; t++) {
      const root = byId.get(`<root-${t}@pipe.test>`);
      const [r1, r2, r3] = [1, 2, 3].map((n) => byId.get(`<r${n}-${t}@pipe.test>`));
      assert.equal(root.correlationMethod, "none");
      assert.deepEqual([r1.correlationMethod, r1.correlatedEmailId], ["inReplyTo", root.id], `r1-${t}`);
      assert.deepEqual([r2.correlationMethod, r2.correlatedEmailId], ["inReplyTo", r1.id], `r2-${t}`);
      assert.equal(r3.correlationMethod, "smartMatching", `r3-${t}`);
      for (const r of [r1, r2, r3]) assert.equal(r.conversationId, root.conversationId);
    }
    const mb = (await app.call("GET", `/api/mailboxes/${mailboxId}`)).body;
    assert.equal(mb.stats.received, messages.length);
  } finally {
    slow.restore();
    await server.close();
  }
});

test("markers go in batches; a poll that lost its checkpoint finds them with one range query, not a read per UIDL", async () => {
  const messages = Array.from({ length: 150 }, (_, i) => mail(`batch-${i}`, `batch ${i}`));
  const server = await Pop3TestServer.start({ messages });
  const storage = app.services.storage;
  const table = storage.table.bind(storage);
  const raw = app.services.raw;
  const writeJson = raw.writeJson.bind(raw);
  const seen = { markerTransactions: 0, markerReads: 0, markerQueries: 0 };
  storage.table = (name) => {
    const client = table(name);
    if (name !== TABLES.coordination) return client;
    const submit = client.submitTransaction.bind(client);
    client.submitTransaction = async (actions) => {
      if (actions.some((a) => String((a[1] as { rowKey?: unknown }).rowKey).startsWith("m:"))) seen.markerTransactions++;
      return submit(actions);
    };
    const getEntity = client.getEntity.bind(client);
    client.getEntity = (async (pk: string, rk: string, o?: object) => {
      if (rk.startsWith("m:")) seen.markerReads++;
      return getEntity(pk, rk, o);
    });
    const listEntities = client.listEntities.bind(client);
    client.listEntities = ((o?: { queryOptions?: { filter?: string } }) => {
      if (o?.queryOptions?.filter?.includes("'m:")) seen.markerQueries++;
      return listEntities(o);
    });
    return client;
  };
  // The first poll dies after its markers, before its checkpoint blob.
  let loseCheckpoint = true;
  raw.writeJson = async (name: string, value: unknown) => {
    if (loseCheckpoint && name.startsWith("state/incoming/")) {
      loseCheckpoint = false;
      throw new Error("instance stopped");
    }
    return writeJson(name, value);
  };
  try {
    const { mailboxId } = await enabledMailbox(app, { port: server.port, address: "batches@contoso.test" });
    const first = await pollMailbox(app.services, mailboxId);
    assert.equal(first.status, "failed");
    assert.equal(server.count("RETR"), 150);
    assert.ok(seen.markerTransactions <= 3, `150 markers in ${seen.markerTransactions} transactions`);
    const before = { ...seen };
    await app.services.repos.mailboxes.update(mailboxId, (m) => ({ ...m, incoming: { ...m.incoming, postponedUntil: null } }));
    const second = await pollMailbox(app.services, mailboxId);
    assert.equal(second.status, "done");
    assert.equal(server.count("RETR"), 150, "nothing fetched twice");
    assert.equal(seen.markerReads - before.markerReads, 0, "no point read per UIDL");
    assert.equal(seen.markerQueries - before.markerQueries, 1, "one range query");
    const mb = (await app.call("GET", `/api/mailboxes/${mailboxId}`)).body;
    assert.equal(mb.stats.received, 150);
    assert.equal((await emailsOf(app, mailboxId)).length, 150);
  } finally {
    storage.table = table;
    raw.writeJson = writeJson;
    await server.close();
  }
});

test("correlation queries only when the message gives it something to look for", async () => {
  const emails = app.services.emails;
  const lookupPage = emails.lookupPage.bind(emails);
  const idByUniqueKey = emails.idByUniqueKey.bind(emails);
  const asked: string[] = [];
  emails.lookupPage = async (key, top, token) => { asked.push(key.split(":")[0] ?? ""); return lookupPage(key, top, token); };
  emails.idByUniqueKey = async (key) => { asked.push(key.split(":")[0] ?? ""); return idByUniqueKey(key); };
  const server = await Pop3TestServer.start({ messages: [mail("fresh-1", "Quarterly numbers"), mail("fresh-2", "Lunch?")] });
  const replies = await Pop3TestServer.start({ messages: [mail("reply-1", "Re: Quarterly numbers")] });
  try {
    const { mailboxId } = await enabledMailbox(app, { port: server.port, address: "fresh@contoso.test" });
    await pollMailbox(app.services, mailboxId);
    assert.deepEqual(asked, [], "new threads: no lookups at all (the create itself detects a copy)");
    const second = await enabledMailbox(app, { port: replies.port, address: "replies@contoso.test" });
    await pollMailbox(app.services, second.mailboxId);
    assert.deepEqual(asked, ["subject"], "a reply: one smart-matching query");
  } finally {
    emails.lookupPage = lookupPage;
    emails.idByUniqueKey = idByUniqueKey;
    await server.close();
    await replies.close();
  }
});

test("the same alert raised by many writers at once folds into one, counting every repeat", async () => {
  const now = new Date();
  const raised = await Promise.all(Array.from({ length: 12 }, () =>
    app.services.alerts.add({ level: "warning", code: "PROCESSING_FAILED", message: "same", mailboxId: "fold-race" }, now, "fold-race-key")));
  const ids = new Set(raised.map((a) => a.id));
  assert.equal(ids.size, 1, "one alert");
  const list = (await app.call("GET", "/api/alerts?mailboxId=fold-race")).body.items;
  assert.equal(list.length, 1);
  assert.equal(list[0].count, 12);
});

test("copies of one message in one poll make one activity; their lookup rows are written once", async () => {
  const copy = mail("copy-1", "Copied");
  const server = await Pop3TestServer.start({ messages: [copy, mail("other-1", "Other"), copy, copy] });
  try {
    const { mailboxId } = await enabledMailbox(app, { port: server.port, address: "copies@contoso.test" });
    const result = await pollMailbox(app.services, mailboxId);
    assert.equal(result.status, "done", JSON.stringify(result));
    const items = await emailsOf(app, mailboxId);
    assert.deepEqual(items.map((e) => e.messageId).sort(), ["<copy-1@pipe.test>", "<other-1@pipe.test>"]);
    const mb = (await app.call("GET", `/api/mailboxes/${mailboxId}`)).body;
    assert.equal(mb.stats.received, 2);
  } finally {
    await server.close();
  }
});

test("a poll that finds nothing new writes no checkpoint; one that files mail or forgets deleted mail does", async () => {
  const server = await Pop3TestServer.start({ messages: [mail("cp-1", "one"), mail("cp-2", "two")] });
  const raw = app.services.raw;
  const writeJson = raw.writeJson.bind(raw);
  let writes = 0;
  raw.writeJson = async (name: string, value: unknown) => {
    if (name.startsWith("state/incoming/")) writes++;
    return writeJson(name, value);
  };
  try {
    const { mailboxId } = await enabledMailbox(app, { port: server.port, address: "checkpoint@contoso.test" });
    await pollMailbox(app.services, mailboxId);
    assert.equal(writes, 1, "the first poll files two messages and writes the checkpoint");
    await pollMailbox(app.services, mailboxId);
    await pollMailbox(app.services, mailboxId);
    assert.equal(writes, 1, "nothing new: no write");
    server.maildrop.splice(0, 1); // deleted on the server by someone else
    await pollMailbox(app.services, mailboxId);
    assert.equal(writes, 2, "the checkpoint forgets a UIDL the server no longer has");
    assert.equal(server.count("RETR"), 2);
  } finally {
    raw.writeJson = writeJson;
    await server.close();
  }
});

test("a poll reads its mailbox once and writes its outcome on that read; a change made meanwhile is kept", async () => {
  const server = await Pop3TestServer.start({ messages: [mail("once-1", "one")] });
  const mailboxes = app.services.repos.mailboxes;
  const getEntity = mailboxes.client.getEntity.bind(mailboxes.client);
  let reads = 0;
  mailboxes.client.getEntity = (async (pk: string, rk: string, o?: object) => {
    if (rk.startsWith("e:")) reads++;
    return getEntity(pk, rk, o);
  });
  try {
    const { mailboxId } = await enabledMailbox(app, { port: server.port, address: "read-once@contoso.test" });
    await pollMailbox(app.services, mailboxId);
    reads = 0;
    const before = (await mailboxes.require(mailboxId)).doc.incoming.lastSyncAt;
    reads = 0;
    assert.equal((await pollMailbox(app.services, mailboxId)).status, "done");
    assert.equal(reads, 1, "an empty poll reads its mailbox once");
    // An admin edit lands while the poll runs (at its login): the outcome is written on a fresh read.
    const secrets = app.services.secrets;
    const get = secrets.get.bind(secrets);
    secrets.get = async (name) => {
      await mailboxes.update(mailboxId, (m) => ({ ...m, incomingFilter: "responsesToTracked" }));
      return get(name);
    };
    try {
      assert.equal((await pollMailbox(app.services, mailboxId)).status, "done");
    } finally {
      secrets.get = get;
    }
    const after = (await mailboxes.require(mailboxId)).doc;
    assert.equal(after.incomingFilter, "responsesToTracked", "the admin's change is kept");
    assert.notEqual(after.incoming.lastSyncAt, before, "and the poll's outcome is recorded");
  } finally {
    mailboxes.client.getEntity = getEntity;
    await server.close();
  }
});
