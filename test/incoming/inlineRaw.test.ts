/**
 * Small messages keep their raw bytes in a sidecar row written in their activity's own
 * transaction (decision 0029): no blob request, the bytes exist exactly when the activity does,
 * and GET /raw serves them byte-exact like a blob. Larger messages still go to Blob Storage.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { startTestApp, type TestApp } from "../support/app.js";
import { enabledMailbox } from "../support/mailboxes.js";
import { emailsOf, rawOf } from "../support/emails.js";
import { Pop3TestServer } from "../support/pop3-server.js";
import { pollMailbox } from "../../shared/sync/incoming/pollMailbox.js";
import { CONTAINERS } from "../../shared/storage/names.js";
import { MAX_INLINE_RAW_BYTES } from "../../shared/limits.js";
import { MAX_SIDECAR_BYTES } from "../../shared/storage/documentTable.js";
import { AppError } from "../../shared/errors.js";
import { emailLookup, incomingEmailId } from "../../shared/storage/emailStore.js";

let app: TestApp;
before(async () => { app = await startTestApp(); });
after(async () => { await app?.stop(); });

const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");
/** A message of exactly `size` bytes, lines under 1,000 bytes, ending in CRLF (as a server sends it). */
function sized(id: string, size: number): Buffer {
  const head = Buffer.from(`Message-ID: <${id}@inline.test>\r\nFrom: bob@fabrikam.test\r\nSubject: ${id}\r\n\r\n`);
  const body = Buffer.alloc(size - head.length, "z");
  for (let i = 998; i < body.length; i += 1000) body.write("\r\n", i - 2, "latin1");
  body.write("\r\n", body.length - 2, "latin1");
  return Buffer.concat([head, body]);
}

async function blobsOf(mailboxId: string): Promise<string[]> {
  const names: string[] = [];
  for await (const b of app.services.storage.blobs.getContainerClient(CONTAINERS.rawMessages).listBlobsFlat({ prefix: `incoming/${mailboxId}/` })) names.push(b.name);
  return names;
}

/** Counts the raw store's blob writes and deletes while `run` runs. */
async function countingBlobWrites<T>(run: () => Promise<T>): Promise<{ result: T; uploads: number; deletes: number }> {
  const raw = app.services.raw;
  const { uploadBuffer, uploadStreamed, del } = { uploadBuffer: raw.uploadBuffer.bind(raw), uploadStreamed: raw.upload.bind(raw), del: raw.delete.bind(raw) };
  let uploads = 0, deletes = 0;
  raw.uploadBuffer = async (name, bytes) => { uploads++; return uploadBuffer(name, bytes); };
  raw.upload = async (name, source, options) => {
    const r = await uploadStreamed(name, source, options);
    if (!r.inline && !r.bytes) uploads++; // streamed (uploadBuffer counts the one-request kind)
    return r;
  };
  raw.delete = async (name) => { deletes++; return del(name); };
  try {
    return { result: await run(), uploads, deletes };
  } finally {
    Object.assign(raw, { uploadBuffer, upload: uploadStreamed, delete: del });
  }
}

test("a message up to MAX_INLINE_RAW_BYTES is kept beside its activity: no blob, /raw byte-exact; one byte more goes to a blob", async () => {
  const atLimit = sized("at-limit", MAX_INLINE_RAW_BYTES);
  const small = sized("small", 600);
  const over = sized("over-limit", MAX_INLINE_RAW_BYTES + 1);
  const server = await Pop3TestServer.start({ messages: [small, atLimit, over] });
  try {
    const { mailboxId } = await enabledMailbox(app, { port: server.port, address: "inline@contoso.test" });
    const { result, uploads } = await countingBlobWrites(() => pollMailbox(app.services, mailboxId));
    assert.equal(result.status, "done");
    assert.equal(uploads, 1, "only the message over the limit was uploaded");
    const items = await emailsOf(app, mailboxId);
    assert.equal(items.length, 3);
    for (const [id, bytes] of [["small", small], ["at-limit", atLimit], ["over-limit", over]] as const) {
      const e = items.find((x) => x.messageId === `<${id}@inline.test>`);
      assert.equal(e.sizeBytes, bytes.length);
      assert.equal(sha(await rawOf(app, e.id)), sha(bytes), `${id}: /raw is byte-exact`);
      assert.equal(e.rawInline, undefined, "internal fields stay out of the view");
    }
    const names = await blobsOf(mailboxId);
    assert.equal(names.length, 1);
    assert.match(names[0] ?? "", /\/uid-3\.eml$/);
  } finally {
    await server.close();
  }
});

test("a skipped small message (sender filter) costs no blob request; a copy in a second mailbox joins with none either", async () => {
  const shared = sized("copy", 2000);
  const s1 = await Pop3TestServer.start({ messages: [shared] });
  const s2 = await Pop3TestServer.start({ messages: [shared] });
  const s3 = await Pop3TestServer.start({ messages: [sized("filtered", 1500)] });
  try {
    const a = await enabledMailbox(app, { port: s1.port, address: "copy-a@contoso.test" });
    const b = await enabledMailbox(app, { port: s2.port, address: "copy-b@contoso.test" });
    const c = await enabledMailbox(app, { port: s3.port, address: "filtered@contoso.test", mailbox: { incomingFilter: "none" } });
    const counted = await countingBlobWrites(async () => {
      await pollMailbox(app.services, a.mailboxId);
      await pollMailbox(app.services, b.mailboxId);
      return pollMailbox(app.services, c.mailboxId);
    });
    assert.equal(counted.result.status, "done");
    assert.deepEqual([counted.uploads, counted.deletes], [0, 0], "no blob written, so none to remove");
    const fromA = await emailsOf(app, a.mailboxId);
    const fromB = await emailsOf(app, b.mailboxId);
    assert.deepEqual([fromA.length, fromB.length], [1, 1]);
    assert.equal(fromA[0].id, fromB[0].id);
    assert.equal(sha(await rawOf(app, fromB[0].id)), sha(shared));
    assert.deepEqual(await emailsOf(app, c.mailboxId), [], "filtered out");
  } finally {
    await Promise.all([s1.close(), s2.close(), s3.close()]);
  }
});

test("the bytes and the activity commit together: a refused transaction leaves neither, and the retry stores both", async () => {
  const message = sized("atomic", 3000);
  const server = await Pop3TestServer.start({ messages: [message] });
  const emails = app.services.emails;
  const submit = emails.client.submitTransaction.bind(emails.client);
  let refused = 0;
  emails.client.submitTransaction = async (actions, options) => {
    if (actions.some(([, e]) => String(e.rowKey).startsWith("b:")) && refused++ === 0) {
      throw new AppError("STORAGE_UNAVAILABLE", "Storage is down (test)");
    }
    return submit(actions, options);
  };
  try {
    const { mailboxId } = await enabledMailbox(app, { port: server.port, address: "atomic@contoso.test", mailbox: { deleteEmailsAfterProcessing: true } });
    const first = await pollMailbox(app.services, mailboxId);
    assert.equal(first.status, "failed", JSON.stringify(first));
    assert.deepEqual(await emailsOf(app, mailboxId), [], "no activity without its bytes");
    assert.equal(server.count("DELE"), 0, "nothing deleted from the server");
    await app.services.repos.mailboxes.update(mailboxId, (m) => ({ ...m, incoming: { ...m.incoming, postponedUntil: null } }));
    assert.equal((await pollMailbox(app.services, mailboxId)).status, "done");
    const items = await emailsOf(app, mailboxId);
    assert.equal(items.length, 1);
    assert.equal(sha(await rawOf(app, items[0].id)), sha(message));
    assert.equal(server.count("DELE"), 1, "deleted once durable");
  } finally {
    emails.client.submitTransaction = submit;
    await server.close();
  }
});

test("sidecar bytes over MAX_SIDECAR_BYTES are refused with PAYLOAD_TOO_LARGE, and nothing is created", async () => {
  const emails = app.services.emails;
  const [template] = (await app.call("GET", "/api/emails?top=1")).body.items as { id: string }[];
  assert.ok(template, "an activity from an earlier test");
  const doc = { ...(await emails.require(template.id)).doc, id: incomingEmailId(emailLookup.messageId("<too-large-sidecar@inline.test>")), messageId: "<too-large-sidecar@inline.test>", rawInline: true };
  await assert.rejects(emails.create(doc, { sidecar: Buffer.alloc(MAX_SIDECAR_BYTES + 1) }), (err: unknown) => err instanceof AppError && err.code === "PAYLOAD_TOO_LARGE");
  assert.equal(await emails.get(doc.id), undefined);
  assert.equal(await emails.readSidecar(doc.id), undefined);
});
