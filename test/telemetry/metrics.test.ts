/**
 * The metrics an operator reads (shared/telemetry): emitted by the real function adapters on real
 * runs (Azurite, the POP3 test server), with mailbox and profile ids as dimensions and nothing a
 * sender or a secret could put there.
 *
 *   node scripts/run-tests.mjs test telemetry
 */
import { after, before, beforeEach, test } from "node:test";
import assert from "node:assert/strict";
import functions, { type InvocationContext, type Timer } from "@azure/functions";
import { startTestApp, type TestApp } from "../support/app.js";
import { enabledMailbox, type MailboxSetup } from "../support/mailboxes.js";
import { Pop3TestServer, type Pop3TestServerOptions } from "../support/pop3-server.js";
import { mailboxIncomingFunction } from "../../functions/mailboxIncoming.js";
import { mailboxOutgoingFunction } from "../../functions/mailboxOutgoing.js";
import { mailboxSchedulerFunction } from "../../functions/mailboxScheduler.js";
import { definitions } from "../../functions/definitions.js";
import { createRecordingTelemetry, setTelemetry, type RecordedMetric } from "../../shared/telemetry/telemetry.js";
import { ALL_QUEUES } from "../../shared/storage/names.js";
import { countMessages, noteSaved } from "../../shared/telemetry/mailboxMetrics.js";
import type { Mailbox } from "../../shared/domain/mailbox.js";
import { closedPort } from "../support/pop3-raw-server.js";

const msg = (id: string, body = "hello\r\n"): Buffer =>
  Buffer.from(`Message-ID: <${id}@test>\r\nFrom: Bob <bob@fabrikam.test>\r\nTo: support@contoso.test\r\nSubject: secret subject ${id}\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\n\r\n${body}`);

let app: TestApp;
let rec: ReturnType<typeof createRecordingTelemetry>;
before(async () => {
  // HTTP only: the tests run the queue and timer functions themselves. With the dev host's queue
  // poller on, the message POST /api/emails enqueues raced the test's own outgoing run for the
  // mailbox's lease, and the test's run could answer leaseHeld.
  app = await startTestApp({ definitions: definitions.filter((d) => d.kind === "http") });
});
after(async () => {
  setTelemetry(undefined);
  await app?.stop();
});
beforeEach(() => {
  rec = createRecordingTelemetry();
  setTelemetry(rec);
});

const ctx = (): InvocationContext => new functions.InvocationContext({ invocationId: "test", functionName: "test" });
/** Runs mailboxIncoming once for a new mailbox on a POP3 test server started with `server`. */
async function pollOnce(server: Partial<Pop3TestServerOptions>, mailbox: { address: string; password?: string }): Promise<MailboxSetup> {
  const pop3 = await Pop3TestServer.start({ messages: [], ...server });
  try {
    const setup = await enabledMailbox(app, { port: pop3.port, ...mailbox });
    await mailboxIncomingFunction.handler({ mailboxId: setup.mailboxId }, ctx());
    return setup;
  } finally {
    await pop3.close();
  }
}

const of = (metric: string, mailboxId?: string): RecordedMetric[] => rec.recorded.filter((r) => r.metric === metric && (!mailboxId || r.dims["mailbox.id"] === mailboxId));

test("a poll counts what it filed and is timed with its outcome, mailbox and profile ids as dimensions", async () => {
  const { mailboxId, profileId } = await pollOnce({ messages: [msg("t-1"), msg("t-2"), Buffer.from("not a message at all, no headers")] }, { address: "metrics@contoso.test" });
  const [duration] = of("emailsync.poll.duration", mailboxId);
  assert.ok(duration, JSON.stringify(rec.recorded));
  assert.equal(duration.dims.outcome, "done");
  assert.equal(duration.dims["profile.id"], profileId, "the profile comes from the mailbox the run saved");
  assert.ok(duration.value >= 0 && duration.value < 60_000, `duration ${duration.value} ms`);
  const filed = of("emailsync.messages.received", mailboxId).reduce((n, r) => n + r.value, 0) + of("emailsync.messages.quarantined", mailboxId).reduce((n, r) => n + r.value, 0);
  assert.equal(filed, 3, "every message counted as received or quarantined");
  const text = JSON.stringify(rec.recorded);
  assert.ok(!text.includes("secret subject") && !text.includes("metrics@contoso.test") && !text.includes("s3cret"), "no subject, address or password in a metric");
});

test("a refused login disables the direction: mailbox.disabled with direction and error code, poll outcome failed", async () => {
  const { mailboxId, profileId } = await pollOnce({ password: "the-right-one" }, { address: "refused@contoso.test", password: "wrong-password-123" });
  const [disabled] = of("emailsync.mailbox.disabled", mailboxId);
  assert.ok(disabled, JSON.stringify(rec.recorded));
  assert.deepEqual(disabled.dims, { "mailbox.id": mailboxId, "profile.id": profileId, direction: "incoming", "error.code": "AUTH_FAILED" });
  assert.equal(of("emailsync.poll.duration", mailboxId)[0]?.dims.outcome, "failed");
  assert.equal(of("emailsync.mailbox.postponed", mailboxId).length, 0);
  assert.ok(!JSON.stringify(rec.recorded).includes("wrong-password-123"));
});

test("a mail server that answers [IN-USE] postpones the direction: mailbox.postponed with its code", async () => {
  const { mailboxId, profileId } = await pollOnce({ loginError: "-ERR [IN-USE] Locked by another session" }, { address: "inuse@contoso.test" });
  const [postponed] = of("emailsync.mailbox.postponed", mailboxId);
  assert.ok(postponed, JSON.stringify(rec.recorded));
  assert.equal(postponed.dims.direction, "incoming");
  assert.equal(postponed.dims["profile.id"], profileId);
  assert.equal(postponed.dims["error.code"], "SERVER_BUSY");
  assert.equal(of("emailsync.mailbox.disabled", mailboxId).length, 0);
});

test("an SMTP server that cannot be reached postpones the outgoing direction; the run is timed as connectionFailed", async () => {
  const { mailboxId, profileId } = await enabledMailbox(app, { port: await closedPort(), smtpPort: await closedPort(), address: "nosmtp@contoso.test" });
  const sent = await app.call("POST", "/api/emails", { body: { mailboxId, to: ["bob@fabrikam.test"], subject: "queued", text: "body" } });
  assert.equal(sent.status, 201, sent.text);
  await mailboxOutgoingFunction.handler({ mailboxId }, ctx());
  const [postponed] = of("emailsync.mailbox.postponed", mailboxId);
  assert.ok(postponed, JSON.stringify(rec.recorded));
  assert.equal(postponed.dims.direction, "outgoing");
  assert.equal(postponed.dims["profile.id"], profileId);
  assert.ok(postponed.dims["error.code"]);
  assert.equal(of("emailsync.send.duration", mailboxId)[0]?.dims.outcome, "connectionFailed");
});

test("an outgoing run is timed with sendMailbox's result as outcome", async () => {
  await mailboxOutgoingFunction.handler({ mailboxId: "no-such-mailbox" }, ctx());
  assert.deepEqual(of("emailsync.send.duration", "no-such-mailbox").map((r) => r.dims.outcome), ["notFound"]);
});

test("sent and failed emails are counted where their counters reach the mailbox; counters never go down", () => {
  const stats = { received: 0, skipped: 0, quarantined: 0, sent: 1, failed: 0 };
  const after = { id: "m-out", profileId: "p-out", stats: { ...stats, sent: 3, failed: 1, skipped: 0 } } as unknown as Mailbox;
  noteSaved(stats, after);
  assert.deepEqual(rec.recorded.map((r) => [r.metric, r.value, r.dims["profile.id"]]), [
    ["emailsync.messages.sent", 2, "p-out"], ["emailsync.messages.failed", 1, "p-out"],
  ]);
  rec.recorded.length = 0;
  countMessages("m-out", { skipped: -1, received: 1 });
  assert.deepEqual(rec.recorded.map((r) => [r.metric, r.value]), [["emailsync.messages.received", 1]]);
});

test("a run that throws is timed with outcome error, and the error still reaches the host", async () => {
  const broken = { ...app.services, repos: { ...app.services.repos, mailboxes: { ...app.services.repos.mailboxes, get: () => Promise.reject(new Error("storage down")) } } };
  const { setServices } = await import("../../shared/runtime/services.js");
  setServices(broken as unknown as typeof app.services);
  try {
    await assert.rejects(mailboxIncomingFunction.handler({ mailboxId: "m-throws" }, ctx()), /storage down/);
  } finally {
    setServices(app.services);
  }
  assert.deepEqual(of("emailsync.poll.duration", "m-throws").map((r) => r.dims.outcome), ["error"]);
});

test("every scheduler tick samples the depth of every queue, -poison queues flagged", async () => {
  await app.services.queue.send("mailbox-test-poison", { mailboxId: "stuck" });
  await mailboxSchedulerFunction.handler({} as Timer, ctx());
  const depths = of("emailsync.queue.depth");
  assert.deepEqual(depths.map((d) => d.dims.queue).sort(), [...ALL_QUEUES].sort());
  for (const d of depths) assert.equal(d.dims["queue.poison"], String(d.dims.queue).endsWith("-poison"));
  assert.ok((depths.find((d) => d.dims.queue === "mailbox-test-poison")?.value ?? 0) >= 1, "the poison message is seen");
});
