/**
 * Each direction has its own state and error policy (issue 11 point 1): a POP3 server down while
 * SMTP works does not hold back sends, and the reverse; a success in one direction never resets
 * the other's failure count. Real sockets: the test POP3 server, a scripted SMTP server, and a
 * closed port for the one that is down.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { pollMailbox } from "../../shared/sync/incoming/pollMailbox.js";
import { sendMailbox } from "../../shared/sync/outgoing/sendMailbox.js";
import { freePort } from "../../shared/runtime/azurite.js";
import { POSTPONE_MS } from "../../shared/sync/errorPolicy.js";
import { Pop3TestServer } from "../support/pop3-server.js";
import { ScriptedSmtpServer, TEST_CA } from "../outgoing/support/smtpServer.js";
import { createSender, emailOf, postEmail, startOutgoingApp, type OutgoingApp } from "../outgoing/support/fixture.js";

let env: OutgoingApp;
let smtpServer: ScriptedSmtpServer;
const smtp = { ca: TEST_CA, connectTimeoutMs: 2000, greetingTimeoutMs: 400, socketTimeoutMs: 2000 };

before(async () => {
  env = await startOutgoingApp();
  smtpServer = await ScriptedSmtpServer.start({ tls: "none", users: { alice: "s3cret-Pa55" } });
});
after(async () => {
  await smtpServer?.close();
  await env?.app.stop();
});

async function bothEnabled(pop3Port: number, smtpPort: number): Promise<string> {
  const s = await createSender(env.app, {
    port: smtpPort, useSsl: false, password: "s3cret-Pa55",
    profile: { incoming: { host: "127.0.0.1", port: pop3Port, useSsl: false }, allowCredentialsOverInsecureChannels: true, minPollingIntervalMinutes: 0 },
  });
  await env.app.services.repos.mailboxes.update(s.mailboxId, (m) => ({ ...m, incomingFilter: "all", incoming: { ...m.incoming, enabled: true, status: "success" }, outgoing: { ...m.outgoing, status: "success" } }));
  return s.mailboxId;
}

const view = async (id: string) => (await env.app.call("GET", `/api/mailboxes/${id}`)).body;

test("POP3 down while SMTP works: incoming is postponed, sends go on and do not reset the incoming count", async () => {
  const closed = await freePort();
  const id = await bothEnabled(closed, smtpServer.port);
  assert.deepEqual(await pollMailbox(env.app.services, id), { status: "failed", code: "NETWORK_UNREACHABLE", outcome: "postponed" });
  const e = await postEmail(env.app, { mailboxId: id, to: ["bob@fabrikam.test"] });
  assert.equal(await sendMailbox(env.app.services, id, { smtp }), "done", "the postponed POP3 side does not hold back the send");
  assert.equal((await emailOf(env.app, e.id)).status, "sent");
  const m = await view(id);
  assert.equal(m.incoming.transientFailureCount, 1, "a successful send does not reset the incoming count");
  assert.equal(m.incoming.postponedUntil, new Date(env.clock.now().getTime() + POSTPONE_MS).toISOString());
  assert.equal(m.incoming.lastError.code, "NETWORK_UNREACHABLE");
  assert.equal(m.outgoing.status, "success");
  assert.equal(m.outgoing.lastError, null);
  assert.equal(m.outgoing.postponedUntil, null);
  assert.equal(m.outgoing.transientFailureCount, 0);
  assert.ok(m.outgoing.lastSuccessfulSyncAt);
  // The top-level fields are the incoming direction's (API.md, compatibility).
  assert.deepEqual(
    [m.lastError.code, m.transientFailureCount, m.postponedUntil, m.incomingStatus, m.enabledForIncoming, m.outgoingStatus, m.enabledForOutgoing],
    ["NETWORK_UNREACHABLE", 1, m.incoming.postponedUntil, "success", true, "success", true],
  );
});

test("SMTP down while POP3 works: sends are postponed, polls go on and do not reset the outgoing count", async () => {
  const pop3 = await Pop3TestServer.start({ messages: [Buffer.from("Message-ID: <dir-1@test>\r\nSubject: hi\r\n\r\nhello\r\n")] });
  try {
    const closed = await freePort();
    const id = await bothEnabled(pop3.port, closed);
    const e = await postEmail(env.app, { mailboxId: id, to: ["bob@fabrikam.test"] });
    assert.equal(await sendMailbox(env.app.services, id, { smtp }), "connectionFailed");
    assert.equal((await emailOf(env.app, e.id)).status, "pendingSend");
    const r = await pollMailbox(env.app.services, id);
    assert.equal(r.status, "done", JSON.stringify(r));
    const m = await view(id);
    assert.equal(m.stats.received, 1);
    assert.equal(m.incoming.status, "success");
    assert.equal(m.incoming.transientFailureCount, 0);
    assert.equal(m.outgoing.transientFailureCount, 1, "a successful poll does not reset the outgoing count");
    assert.equal(m.outgoing.lastError.code, "NETWORK_UNREACHABLE");
    assert.equal(m.outgoing.enabled, true);
    assert.ok(m.outgoing.postponedUntil);
    assert.equal(m.lastError, null, "the top-level (incoming) error is clear");
    assert.equal(m.postponedUntil, null);
  } finally {
    await pop3.close();
  }
});

test("an outgoing direction failing 10 times in a row is disabled even while polls succeed in between", async () => {
  const pop3 = await Pop3TestServer.start({ messages: [] });
  try {
    const closed = await freePort();
    const id = await bothEnabled(pop3.port, closed);
    await postEmail(env.app, { mailboxId: id, to: ["bob@fabrikam.test"] });
    for (let i = 1; i <= 10; i++) {
      assert.equal(await sendMailbox(env.app.services, id, { smtp }), "connectionFailed");
      assert.equal((await pollMailbox(env.app.services, id)).status, "done");
      env.clock.advance(POSTPONE_MS);
    }
    const m = await view(id);
    assert.equal(m.outgoing.status, "failure");
    assert.equal(m.outgoing.enabled, false);
    assert.equal(m.outgoing.transientFailureCount, 10);
    assert.equal(m.incoming.enabled, true, "incoming stays enabled");
    assert.equal(m.incoming.status, "success");
  } finally {
    await pop3.close();
  }
});

test("a mailbox stored before per-direction state is served in the new shape, and PATCH ignores the state objects sent back", async () => {
  const id = await bothEnabled(await freePort(), smtpServer.port);
  const table = env.app.services.repos.mailboxes;
  const { incoming: _i, outgoing: _o, ...rest } = (await table.require(id)).doc;
  // The shape documents had before issue 11 (one shared failure state at the top level), written
  // as an old version of the app wrote it: the JSON document, and the index properties of then.
  const legacy = {
    ...rest, incomingStatus: "success", outgoingStatus: "failure", enabledForIncoming: true, enabledForOutgoing: false,
    lastError: { code: "AUTH_FAILED", message: "535", transient: false, at: "2026-11-22T09:00:00.000Z" },
    transientFailureCount: 0, postponedUntil: null, lastSyncAt: "2026-11-22T09:00:00.000Z", lastSuccessfulSyncAt: null,
  };
  await table.client.updateEntity({ partitionKey: "mailbox", rowKey: `e:${id}`, doc: JSON.stringify(legacy) }, "Merge");
  const m = await view(id);
  assert.equal(m.incoming.status, "success");
  assert.equal(m.incoming.enabled, true);
  assert.equal(m.outgoing.status, "failure");
  assert.equal(m.outgoing.enabled, false);
  assert.equal(m.outgoing.lastError.code, "AUTH_FAILED");
  assert.equal(m.incomingStatus, "success");
  assert.equal(m.enabledForOutgoing, false);
  const back = await env.app.call("PATCH", `/api/mailboxes/${id}`, { body: { ...m, incoming: { status: "failure" }, outgoing: { enabled: true }, incomingFilter: "all" } });
  assert.equal(back.status, 200, back.text);
  assert.equal(back.body.outgoing.enabled, false, "the state objects are read-only");
  assert.equal(back.body.incoming.status, "success");
  const stored = (await env.app.services.repos.mailboxes.require(id)).doc as unknown as Record<string, unknown>;
  assert.equal("incomingStatus" in stored, false, "rewritten in the new shape by the update");
});
