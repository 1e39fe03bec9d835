import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { simpleParser } from "mailparser";
import { CONTAINERS, QUEUES } from "../../shared/storage/names.js";
import { createSender, emailOf, postEmail, startOutgoingApp, type OutgoingApp } from "./support/fixture.js";

let env: OutgoingApp;
let sender: { mailboxId: string; address: string };
before(async () => {
  env = await startOutgoingApp();
  sender = await createSender(env.app, { port: 2525, useSsl: false, ownerName: "Alice" });
});
after(async () => { await env?.app.stop(); });

const queued = async (): Promise<string[]> => {
  const q = env.app.services.storage.queues.getQueueClient(QUEUES.outgoing);
  const r = await q.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 1 });
  for (const m of r.receivedMessageItems) await q.deleteMessage(m.messageId, m.popReceipt);
  return r.receivedMessageItems.map((m) => (JSON.parse(Buffer.from(m.messageText, "base64").toString("utf8")) as { mailboxId: string }).mailboxId);
};
const paths = (res: { body: { error: { details: Array<{ path: string }> } } }): string[] => res.body.error.details.map((d) => d.path).sort();

describe("POST /api/emails", () => {
  test("creates a pendingSend email with Message-ID, tracking token and its exact bytes stored", async () => {
    await queued();
    const attachment = Buffer.from([0, 1, 2, 254, 255, 13, 10, 46]);
    const e = await postEmail(env.app, {
      mailboxId: sender.mailboxId, to: ["Bob@Fabrikam.test"], cc: ["carol@fabrikam.test"], bcc: ["dave@fabrikam.test"],
      text: "Hi Bob\n.leading dot line\n", html: "<p>Hi</p>",
      attachments: [{ filename: "quote.bin", contentType: "application/octet-stream", contentBase64: attachment.toString("base64") }],
    });
    assert.equal(e.status, "pendingSend");
    assert.equal(e.direction, "outgoing");
    assert.match(e.messageId, /^<[0-9a-f-]{36}@contoso\.test>$/);
    assert.equal(e.trackingToken, "CRM:0001001");
    assert.equal(e.subject, "Quote request CRM:0001001");
    assert.deepEqual(e.from, { address: sender.address, name: "Alice" });
    assert.deepEqual(e.to, [{ address: "bob@fabrikam.test", name: "" }]);
    assert.equal(e.attachments[0]?.size, attachment.length);
    assert.equal(e.attempts, 0);
    assert.equal((e as unknown as Record<string, unknown>).rawBlob, undefined, "internal fields stay out of the view");
    const raw = await env.app.services.raw.downloadBuffer(`outgoing/${e.id}.eml`);
    assert.equal(createHash("sha256").update(raw).digest("hex"), e.sha256);
    assert.equal(raw.length, e.sizeBytes);
    assert.doesNotMatch(raw.toString("latin1"), /(^|[^\r])\n/, "every line ends in CRLF");
    assert.doesNotMatch(raw.toString("latin1"), /^bcc:/im, "Bcc is not in the headers");
    const parsed = await simpleParser(raw);
    assert.equal(parsed.messageId, e.messageId);
    assert.equal(parsed.subject, "Quote request CRM:0001001");
    assert.equal(parsed.date?.toISOString(), "2026-11-22T10:00:00.000Z");
    assert.deepEqual(parsed.attachments[0]?.content, attachment);
    assert.deepEqual(await queued(), [sender.mailboxId], "an eligible mailbox is enqueued at once");
    assert.ok(await env.app.services.due.nextDue("outgoing", sender.mailboxId), "and put on the due index");
  });

  test("the counter counts per user, a new owner gets the next user number, and it wraps", async () => {
    const second = await postEmail(env.app, { mailboxId: sender.mailboxId, to: ["bob@fabrikam.test"] });
    assert.equal(second.trackingToken, "CRM:0001002");
    const other = await createSender(env.app, { port: 2525, useSsl: false });
    assert.equal((await postEmail(env.app, { mailboxId: other.mailboxId, to: ["bob@fabrikam.test"] })).trackingToken, "CRM:0002001");
    await env.app.call("PATCH", "/api/settings", { body: { trackingToken: { prefix: "T#", baseNumber: 7, counterDigits: 1 } } });
    const tokens = [];
    for (let i = 0; i < 8; i++) tokens.push((await postEmail(env.app, { mailboxId: other.mailboxId, to: ["bob@fabrikam.test"] })).trackingToken);
    assert.deepEqual(tokens, ["T#70022", "T#70023", "T#70024", "T#70025", "T#70026", "T#70027", "T#70028", "T#70029"]);
    assert.equal((await postEmail(env.app, { mailboxId: other.mailboxId, to: ["bob@fabrikam.test"] })).trackingToken, "T#70020", "the counter wraps");
    await env.app.call("PATCH", "/api/settings", { body: { trackingToken: { enabled: false } } });
    const plain = await postEmail(env.app, { mailboxId: other.mailboxId, to: ["bob@fabrikam.test"], subject: "No token" });
    assert.equal(plain.trackingToken, null);
    assert.equal(plain.subject, "No token");
    await env.app.call("PATCH", "/api/settings", { body: { trackingToken: { enabled: true, prefix: "CRM:", baseNumber: 0, counterDigits: 3 } } });
  });

  test("a reply carries In-Reply-To and References and joins the conversation", async () => {
    const first = await postEmail(env.app, { mailboxId: sender.mailboxId, to: ["bob@fabrikam.test"] });
    const reply = await postEmail(env.app, { mailboxId: sender.mailboxId, to: ["bob@fabrikam.test"], subject: "RE: Quote", inReplyToEmailId: first.id });
    assert.equal(reply.inReplyTo, first.messageId);
    assert.deepEqual(reply.references, [first.messageId]);
    assert.equal(reply.conversationId, first.conversationId);
    const third = await postEmail(env.app, { mailboxId: sender.mailboxId, to: ["bob@fabrikam.test"], inReplyToEmailId: reply.id });
    assert.deepEqual(third.references, [first.messageId, reply.messageId]);
    const parsed = await simpleParser(await env.app.services.raw.downloadBuffer(`outgoing/${third.id}.eml`));
    assert.equal(parsed.inReplyTo, reply.messageId);
  });

  test("validation: clear 400s with the offending paths", async () => {
    const base = { mailboxId: sender.mailboxId, subject: "x", text: "y", to: ["bob@fabrikam.test"] };
    const post = (body: Record<string, unknown>) => env.app.call("POST", "/api/emails", { body });
    const noMailbox = await post({ ...base, mailboxId: "missing" });
    assert.equal(noMailbox.status, 400);
    assert.deepEqual(paths(noMailbox), ["mailboxId"]);
    assert.deepEqual(paths(await post({ ...base, to: [] })), ["to"]);
    assert.deepEqual(paths(await post({ ...base, subject: "Hi\r\nBcc: evil@x.test" })), ["subject"]);
    assert.deepEqual(paths(await post({ ...base, to: ["bob@fabrikam.test\r\n"], cc: ["not-an-address"] })), ["cc.0", "to.0"]);
    assert.deepEqual(paths(await post({ mailboxId: sender.mailboxId, subject: "x", to: ["bob@fabrikam.test"] })), ["text"]);
    assert.deepEqual(paths(await post({ ...base, bogus: 1 })), ["bogus"]);
    assert.deepEqual(paths(await post({ ...base, inReplyToEmailId: "nope" })), ["inReplyToEmailId"]);
    await env.app.call("PATCH", "/api/settings", { body: { maxAttachmentSizeKb: 1 } });
    const big = await post({ ...base, attachments: [
      { filename: "ok.txt", contentType: "text/plain", contentBase64: Buffer.alloc(1024).toString("base64") },
      { filename: "big.bin", contentType: "application/octet-stream", contentBase64: Buffer.alloc(1025).toString("base64") },
    ] });
    assert.equal(big.status, 400);
    assert.deepEqual(paths(big), ["attachments.1.contentBase64"]);
    await env.app.call("PATCH", "/api/settings", { body: { maxAttachmentSizeKb: 5120 } });
  });

  test("Idempotency-Key: a retry answers with the first email, concurrent ones make one, a different body is 422", async () => {
    const body = { mailboxId: sender.mailboxId, to: ["bob@fabrikam.test"], subject: "Invoice", text: "Please pay" };
    const post = (key: string, b: Record<string, unknown> = body) => env.app.call("POST", "/api/emails", { body: b, headers: { "idempotency-key": key } });
    const first = await post("invoice-42");
    assert.equal(first.status, 201, first.text);
    assert.equal(first.headers.get("idempotent-replayed"), null);
    assert.equal(first.body.idempotency, undefined, "the key stays out of the view");
    const retry = await post("invoice-42");
    assert.equal(retry.status, 201);
    assert.equal(retry.headers.get("idempotent-replayed"), "true");
    assert.equal(retry.body.id, first.body.id);
    assert.equal(retry.body.trackingToken, first.body.trackingToken, "no tracking number spent on a retry");

    const reused = await post("invoice-42", { ...body, text: "Please pay twice" });
    assert.equal(reused.status, 422, reused.text);
    assert.equal(reused.body.error.code, "IDEMPOTENCY_KEY_REUSED");
    assert.match(reused.body.error.message, new RegExp(first.body.id));

    const outgoingBlobs = async (): Promise<string[]> => {
      const names: string[] = [];
      const container = env.app.services.storage.blobs.getContainerClient(CONTAINERS.rawMessages);
      for await (const b of container.listBlobsFlat({ prefix: "outgoing/" })) names.push(b.name);
      return names;
    };
    const blobsBefore = await outgoingBlobs();
    const racing = await Promise.all(Array.from({ length: 6 }, () => post("invoice-43")));
    assert.deepEqual(racing.map((r) => r.status), [201, 201, 201, 201, 201, 201], racing.map((r) => r.text).join("\n"));
    const ids = new Set(racing.map((r) => r.body.id as string));
    assert.equal(ids.size, 1, "six concurrent requests with one key made one email");
    assert.equal(racing.filter((r) => r.headers.get("idempotent-replayed") === null).length, 1, "exactly one of them created it");
    const [id] = ids;
    assert.deepEqual((await outgoingBlobs()).filter((b) => !blobsBefore.includes(b)), [`outgoing/${id}.eml`], "the losers' composed bytes are removed");

    const withoutKey = await Promise.all([env.app.call("POST", "/api/emails", { body }), env.app.call("POST", "/api/emails", { body })]);
    assert.notEqual(withoutKey[0].body.id, withoutKey[1].body.id, "without a key every POST is a new email");

    const openapi = (await env.app.call("GET", "/api/openapi.json")).body;
    const create = openapi.paths["/api/emails"].post;
    assert.ok(create.parameters.some((p: { name: string; in: string }) => p.name === "Idempotency-Key" && p.in === "header"));
    assert.match(create.responses["422"].description, /IDEMPOTENCY_KEY_REUSED/);

    const bad = await post("x".repeat(256));
    assert.equal(bad.status, 400);
    assert.deepEqual(paths(bad), ["Idempotency-Key"]);
    const badBoth = await post("", { ...body, to: [] });
    assert.equal(badBoth.status, 400);
    assert.deepEqual(paths(badBoth), ["Idempotency-Key", "to"], "one 400 names every bad part of the request");
  });

  test("a mailbox not eligible for outgoing is not enqueued, only put on the due index", async () => {
    const idle = await createSender(env.app, { port: 2525, useSsl: false });
    await env.app.services.repos.mailboxes.update(idle.mailboxId, (m) => ({ ...m, outgoing: { ...m.outgoing, enabled: false } }));
    await env.app.services.due.remove("outgoing", idle.mailboxId);
    await queued();
    await postEmail(env.app, { mailboxId: idle.mailboxId, to: ["bob@fabrikam.test"] });
    assert.deepEqual(await queued(), []);
    assert.ok(await env.app.services.due.nextDue("outgoing", idle.mailboxId));
  });
});

describe("POST /api/emails/{id}/cancel", () => {
  test("cancels a pending send once; anything else is 409", async () => {
    const e = await postEmail(env.app, { mailboxId: sender.mailboxId, to: ["bob@fabrikam.test"] });
    const res = await env.app.call("POST", `/api/emails/${e.id}/cancel`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.status, "canceled");
    assert.equal((await emailOf(env.app, e.id)).status, "canceled");
    const again = await env.app.call("POST", `/api/emails/${e.id}/cancel`);
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, "CONFLICT");
    assert.equal((await env.app.call("POST", "/api/emails/missing/cancel")).status, 404);
  });
});
