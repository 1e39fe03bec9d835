import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { MASTER_KEY, startTestApp, type TestApp } from "../support/app.js";
import { enabledMailbox } from "../support/mailboxes.js";
import { Pop3TestServer } from "../support/pop3-server.js";
import { ManualClock } from "../../shared/runtime/clock.js";
import { freePort } from "../../shared/runtime/azurite.js";
import { pollMailbox } from "../../shared/sync/incoming/pollMailbox.js";
import { POSTPONE_MS } from "../../shared/sync/errorPolicy.js";
import { handleTestMessage } from "../../shared/lifecycle/testJobs.js";
import { definitions } from "../../functions/definitions.js";

const clock = new ManualClock("2026-11-22T10:00:00.000Z");
let app: TestApp;
before(async () => {
  app = await startTestApp({ overrides: { clock }, definitions: definitions.filter((d) => d.kind === "http") });
  await app.call("PATCH", "/api/settings", { body: { alerts: { warning: true } } });
});
after(async () => { await app?.stop(); });

test("server down: postponed with a rising count and one warning alert, disabled at the 10th, back after Test & Enable", async () => {
  const closed = await freePort();
  const a = await enabledMailbox(app, { port: closed, address: "down-a@contoso.test", profile: { name: "Down profile", owner: { type: "user", id: "mail-admin", name: "Mail admin" } } });
  const b = await enabledMailbox(app, { port: closed, address: "down-b@contoso.test", profileId: a.profileId });
  for (let i = 1; i <= 9; i++) {
    for (const id of [a.mailboxId, b.mailboxId]) {
      const r = await pollMailbox(app.services, id);
      assert.deepEqual(r, { status: "failed", code: "NETWORK_UNREACHABLE", outcome: "postponed" });
    }
    const m = (await app.call("GET", `/api/mailboxes/${a.mailboxId}`)).body;
    assert.equal(m.transientFailureCount, i);
    assert.equal(m.enabledForIncoming, true);
    assert.equal(m.postponedUntil, new Date(clock.now().getTime() + POSTPONE_MS).toISOString());
    assert.deepEqual(await pollMailbox(app.services, a.mailboxId), { status: "ineligible", reason: "postponed" });
    clock.advance(POSTPONE_MS);
  }
  const warnings = (await app.call("GET", `/api/alerts?profileId=${a.profileId}&level=warning`)).body.items;
  const onProfile = warnings.filter((w: any) => w.mailboxId === null);
  assert.equal(onProfile.length, 1, "one alert on the profile, not one per mailbox or per attempt");
  assert.equal(onProfile[0].count, 18, "every failure of every mailbox folds into it");
  assert.match(onProfile[0].message, /Down profile/);
  assert.deepEqual(onProfile[0].owner, { type: "user", id: "mail-admin" }, "on the profile owner's wall");
  for (const id of [a.mailboxId, b.mailboxId]) {
    const mine = (await app.call("GET", `/api/alerts?mailboxId=${id}&level=warning`)).body.items;
    assert.equal(mine.length, 1, "one alert per affected mailbox");
    assert.equal(mine[0].count, 9, "its count grows with each failure of that mailbox");
    assert.match(mine[0].message, /profile's owner has been alerted/);
  }
  const wall = (await app.call("GET", "/api/alerts?ownerId=mail-admin")).body.items;
  assert.deepEqual(wall.map((w: any) => w.id), [onProfile[0].id], "the owner's wall holds the profile's alert");

  assert.deepEqual(await pollMailbox(app.services, a.mailboxId), { status: "failed", code: "NETWORK_UNREACHABLE", outcome: "disabled" });
  const disabled = (await app.call("GET", `/api/mailboxes/${a.mailboxId}`)).body;
  assert.equal(disabled.incomingStatus, "failure");
  assert.equal(disabled.enabledForIncoming, false);
  assert.equal(disabled.transientFailureCount, 10);
  const errors = (await app.call("GET", `/api/alerts?profileId=${a.profileId}&level=error`)).body.items;
  assert.deepEqual(errors.map((e: any) => e.mailboxId).sort(), [a.mailboxId, null].sort(), "one error on the profile, one on the disabled mailbox");
  const floor = (await app.call("GET", `/api/alerts?profileId=${a.profileId}&level=warning`)).body.items;
  assert.equal(floor.length, 5, "level is a floor: warnings and errors");

  const server = await Pop3TestServer.start({ messages: [Buffer.from("Message-ID: <back@test>\r\nSubject: back\r\n\r\nhi\r\n")] });
  try {
    // The server moved: the stored password follows it only by an approver (docs/decisions/0014).
    const moved = await app.call("PATCH", `/api/profiles/${a.profileId}`, { body: { incoming: { port: server.port } }, key: MASTER_KEY });
    assert.equal(moved.status, 200, moved.text);
    await handleTestMessage(app.services, { type: "mailbox", jobId: "00000000-0000-4000-8000-00000000000a", mailboxId: a.mailboxId, applyDefaults: false });
    const back = (await app.call("GET", `/api/mailboxes/${a.mailboxId}`)).body;
    assert.equal(back.incomingStatus, "success");
    assert.equal(back.enabledForIncoming, true);
    assert.equal(back.transientFailureCount, 0);
    assert.equal((await pollMailbox(app.services, a.mailboxId)).status, "done");
  } finally {
    await server.close();
  }
});
