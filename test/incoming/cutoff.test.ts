/**
 * Process Email From (issue 11, point 6; decision 0017): the cut-off compares with the time the
 * mail server received the message (the topmost readable Received field; Date only without one;
 * the fetch time without either), and a message it skipped is parked with that cut-off and filed,
 * once and counted exactly, when the effective cut-off moves earlier.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startTestApp, type TestApp } from "../support/app.js";
import { enabledMailbox } from "../support/mailboxes.js";
import { emailsOf } from "../support/emails.js";
import { Pop3TestServer } from "../support/pop3-server.js";
import { ManualClock } from "../../shared/runtime/clock.js";
import { definitions } from "../../functions/definitions.js";
import { pollMailbox } from "../../shared/sync/incoming/pollMailbox.js";
import { parseRfc5322Date, receivedHeaderDate } from "../../shared/sync/incoming/receivedTime.js";
import { MAX_RECEIVED_DATE_CHARS, MAX_RECEIVED_HEADERS_EXAMINED } from "../../shared/limits.js";

const clock = new ManualClock("2026-12-02T12:00:00.000Z");
let app: TestApp;
before(async () => {
  // HTTP only: no queue trigger polls behind the test's back.
  app = await startTestApp({ overrides: { clock }, definitions: definitions.filter((d) => d.kind === "http") });
});
after(async () => { await app?.stop(); });

const received = (date: string): string => `Received: from mx.fabrikam.test by pop.contoso.test with ESMTP id 42;\r\n\t${date}\r\n`;
const mail = (id: string, headers: string): Buffer =>
  Buffer.from(`${headers}Message-ID: <${id}@cutoff.test>\r\nFrom: bob@fabrikam.test\r\nSubject: ${id}\r\n\r\nbody of ${id}\r\n`);

let seq = 0;
async function mailboxOn(server: Pop3TestServer, mailbox: Record<string, unknown> = {}, profile: Record<string, unknown> = {}) {
  const address = `cutoff-${++seq}@contoso.test`;
  return enabledMailbox(app, { port: server.port, address, mailbox, profile: { name: `cutoff ${seq}`, ...profile } });
}

async function poll(mailboxId: string) {
  const r = await pollMailbox(app.services, mailboxId);
  assert.ok(r.status === "done", JSON.stringify(r));
  return r;
}

const filedIds = async (mailboxId: string): Promise<string[]> => (await emailsOf(app, mailboxId)).map((e) => e.messageId as string).sort();
const statsOf = async (mailboxId: string) => (await app.call("GET", `/api/mailboxes/${mailboxId}`)).body.stats;
const retrCount = (server: Pop3TestServer, msgNo: number): number => server.stats.commands.filter((c) => c.line === `RETR ${msgNo}`).length;

test("RFC 5322 dates: obsolete forms read, garbage and impossible dates refused", () => {
  assert.equal(parseRfc5322Date(" Tue, 1 Dec 2026 10:00:00 +0100 (CET)")?.toISOString(), "2026-12-01T09:00:00.000Z");
  assert.equal(parseRfc5322Date("1 Dec 26 10:00 EST")?.toISOString(), "2026-12-01T15:00:00.000Z");
  assert.equal(parseRfc5322Date("Tue, 01 Dec 2026 10:00:60 -0000")?.toISOString(), "2026-12-01T10:00:59.000Z");
  assert.equal(parseRfc5322Date("(a (nested) comment) 1 Dec 2026 10:00:00 +0000")?.toISOString(), "2026-12-01T10:00:00.000Z");
  for (const bad of ["1", "not a date", "31 Feb 2026 10:00:00 +0000", "1 Dec 2026 25:00:00 +0000", "1 Foo 2026 10:00:00 +0000",
    "1 Dec 2026 10:00:00 +0099", "1 Dec 2026 10:00:00 Mars", "", "1 Dec 2026 10:00:00 +0000 trailing"]) {
    assert.equal(parseRfc5322Date(bad), null, bad);
  }
  // Only the first MAX_RECEIVED_DATE_CHARS after the ";" are read: a date behind a long comment is not.
  assert.equal(parseRfc5322Date(`(${"x".repeat(MAX_RECEIVED_DATE_CHARS)}) 1 Dec 2026 10:00:00 +0000`), null);
});

test("only the first MAX_RECEIVED_HEADERS_EXAMINED Received fields are looked at; the topmost readable one wins", () => {
  const line = (d: string) => ({ key: "received", line: `Received: by x; ${d}` });
  const junk = Array.from({ length: MAX_RECEIVED_HEADERS_EXAMINED - 1 }, () => ({ key: "received", line: "Received: by x; junk" }));
  assert.equal(receivedHeaderDate([...junk, line("1 Dec 2026 10:00:00 +0000")])?.toISOString(), "2026-12-01T10:00:00.000Z");
  assert.equal(receivedHeaderDate([...junk, { key: "received", line: "no semicolon" }, line("1 Dec 2026 10:00:00 +0000")]), null);
  assert.equal(receivedHeaderDate([line("2 Dec 2026 10:00:00 +0000"), line("1 Jan 2020 10:00:00 +0000")])?.toISOString(), "2026-12-02T10:00:00.000Z");
  assert.equal(receivedHeaderDate([{ key: "subject", line: "Subject: x; 1 Dec 2026 10:00:00 +0000" }]), null);
});

test("the cut-off compares with the newest Received date, the Date field only without one, the fetch time without either", async () => {
  const junkReceived = Array.from({ length: MAX_RECEIVED_HEADERS_EXAMINED }, () => "Received: by relay.test; yesterday\r\n").join("");
  const server = await Pop3TestServer.start({
    messages: [
      // Received after the cut-off although the sender's clock says 2020: filed.
      mail("r-new", `${received("Tue, 1 Dec 2026 10:00:00 +0000")}Date: Wed, 1 Jan 2020 00:00:00 +0000\r\n`),
      // Received before the cut-off although the sender dated it in the future: skipped.
      mail("r-old", `${received("Thu, 1 Jan 2026 10:00:00 +0000")}${received("Thu, 1 Jan 2026 09:59:00 +0000")}Date: Mon, 30 Nov 2026 00:00:00 +0000\r\n`),
      // Topmost unreadable: the next Received counts (old: skipped).
      mail("r-second", `Received: by pop.contoso.test; not a date at all\r\n${received("Thu, 1 Jan 2026 10:00:00 +0000")}Date: Mon, 30 Nov 2026 00:00:00 +0000\r\n`),
      // No Received: the Date field decides, both ways.
      mail("d-new", "Date: Fri, 20 Nov 2026 10:00:00 +0000\r\n"),
      mail("d-old", "Date: Mon, 01 Jan 2024 10:00:00 +0000\r\n"),
      // Only unreadable Received fields: the Date field decides.
      mail("g-old", `Received: from x by y; 99 Foo 2026 99:99:99 +0000\r\nReceived: garbage without a semicolon\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000\r\n`),
      // A readable date past the first MAX_RECEIVED_HEADERS_EXAMINED fields is not looked at: Date decides.
      mail("deep", `${junkReceived}${received("Tue, 1 Dec 2026 10:00:00 +0000")}Date: Mon, 01 Jan 2024 10:00:00 +0000\r\n`),
      // Neither: the fetch time (2026-12-02) counts: filed.
      mail("none", ""),
      // A Received date far in the future only means "process it".
      mail("future", `${received("Sat, 1 Jan 2099 00:00:00 +0000")}Date: Mon, 01 Jan 2024 10:00:00 +0000\r\n`),
    ],
  });
  try {
    const { mailboxId } = await mailboxOn(server, {}, { processEmailFrom: "2026-06-01T00:00:00.000Z" });
    const r = await poll(mailboxId);
    assert.equal(r.fetched, 9);
    assert.deepEqual(await filedIds(mailboxId), ["<d-new@cutoff.test>", "<future@cutoff.test>", "<none@cutoff.test>", "<r-new@cutoff.test>"]);
    const stats = await statsOf(mailboxId);
    assert.equal(stats.received, 4);
    assert.equal(stats.skipped, 5);
  } finally {
    await server.close();
  }
});

test("skipped before the cut-off, then the cut-off moves earlier: filed once, counters moved from skipped to received; later: nothing refetched", async () => {
  const server = await Pop3TestServer.start({
    messages: [
      mail("march", received("Sun, 1 Mar 2026 10:00:00 +0000")),
      mail("may", received("Fri, 1 May 2026 10:00:00 +0000")),
      mail("july", received("Wed, 1 Jul 2026 10:00:00 +0000")),
    ],
  });
  try {
    const { mailboxId, profileId } = await mailboxOn(server, {}, { processEmailFrom: "2026-06-01T00:00:00.000Z" });
    await poll(mailboxId);
    assert.deepEqual(await filedIds(mailboxId), ["<july@cutoff.test>"]);
    assert.deepEqual(await statsOf(mailboxId), { received: 1, sent: 0, failed: 0, skipped: 2, quarantined: 0 });

    // Nothing changed: parked messages are not fetched again.
    assert.equal((await poll(mailboxId)).fetched, 0);

    // The mailbox's own cut-off overrides the profile's, earlier: May passes, March is looked at and parked again.
    const patched = await app.call("PATCH", `/api/mailboxes/${mailboxId}`, { body: { processEmailReceivedAfter: "2026-04-01T00:00:00.000Z" } });
    assert.equal(patched.status, 200, patched.text);
    const again = await poll(mailboxId);
    assert.equal(again.fetched, 2);
    assert.deepEqual(again.stats, { received: 1, skipped: -1, quarantined: 0 });
    assert.deepEqual(await filedIds(mailboxId), ["<july@cutoff.test>", "<may@cutoff.test>"]);
    assert.deepEqual(await statsOf(mailboxId), { received: 2, sent: 0, failed: 0, skipped: 1, quarantined: 0 });
    assert.equal(retrCount(server, 1), 2);
    assert.equal(retrCount(server, 2), 2);
    assert.equal(retrCount(server, 3), 1);

    // Later than the cut-off that last skipped March: nothing fetched, nothing refiled.
    await app.call("PATCH", `/api/mailboxes/${mailboxId}`, { body: { processEmailReceivedAfter: "2026-05-15T00:00:00.000Z" } });
    assert.equal((await poll(mailboxId)).fetched, 0);
    assert.equal((await emailsOf(app, mailboxId)).length, 2);

    // Both cut-offs cleared: March is filed; every message is one activity, counted once.
    await app.call("PATCH", `/api/mailboxes/${mailboxId}`, { body: { processEmailReceivedAfter: null } });
    const profile = await app.call("PATCH", `/api/profiles/${profileId}`, { body: { processEmailFrom: null } });
    assert.equal(profile.status, 200, profile.text);
    assert.equal((await poll(mailboxId)).fetched, 1);
    assert.equal((await poll(mailboxId)).fetched, 0);
    assert.deepEqual(await filedIds(mailboxId), ["<july@cutoff.test>", "<march@cutoff.test>", "<may@cutoff.test>"]);
    assert.deepEqual(await statsOf(mailboxId), { received: 3, sent: 0, failed: 0, skipped: 0, quarantined: 0 });
  } finally {
    await server.close();
  }
});

test("a checkpoint older than its markers (a run died before saving it) fetches again but counts and files nothing twice", async () => {
  const server = await Pop3TestServer.start({ messages: [mail("stale", received("Fri, 1 May 2026 10:00:00 +0000"))] });
  try {
    const { mailboxId } = await mailboxOn(server, { processEmailReceivedAfter: "2026-06-01T00:00:00.000Z" });
    await poll(mailboxId);
    const blob = `state/incoming/${mailboxId}.json`;
    const parked = await app.services.raw.readJson<unknown>(blob);
    assert.ok(parked);
    await app.call("PATCH", `/api/mailboxes/${mailboxId}`, { body: { processEmailReceivedAfter: "2026-01-01T00:00:00.000Z" } });
    await poll(mailboxId);
    assert.deepEqual(await statsOf(mailboxId), { received: 1, sent: 0, failed: 0, skipped: 0, quarantined: 0 });
    // As if that poll had died after the marker and before the checkpoint; and the admin has
    // since moved the cut-off to one that would skip the message again: what was filed stays filed.
    await app.services.raw.writeJson(blob, parked.value);
    await app.call("PATCH", `/api/mailboxes/${mailboxId}`, { body: { processEmailReceivedAfter: "2026-05-15T00:00:00.000Z" } });
    const replay = await poll(mailboxId);
    assert.equal(replay.fetched, 1);
    assert.deepEqual(replay.stats, { received: 0, skipped: 0, quarantined: 0 });
    assert.deepEqual(await filedIds(mailboxId), ["<stale@cutoff.test>"]);
    assert.deepEqual(await statsOf(mailboxId), { received: 1, sent: 0, failed: 0, skipped: 0, quarantined: 0 });
    // The checkpoint now holds the marker as stored: settled, never fetched again.
    await app.call("PATCH", `/api/mailboxes/${mailboxId}`, { body: { processEmailReceivedAfter: null } });
    assert.equal((await poll(mailboxId)).fetched, 0);
  } finally {
    await server.close();
  }
});

test("with deleteEmailsAfterProcessing, mail skipped by the cut-off stays on the server until it is filed", async () => {
  const server = await Pop3TestServer.start({
    messages: [mail("keep-old", received("Fri, 1 May 2026 10:00:00 +0000")), mail("keep-new", received("Tue, 1 Dec 2026 10:00:00 +0000"))],
  });
  try {
    const { mailboxId } = await mailboxOn(server, { deleteEmailsAfterProcessing: true, processEmailReceivedAfter: "2026-06-01T00:00:00.000Z" });
    await poll(mailboxId);
    assert.deepEqual(server.maildrop.map((m) => m.uid), ["uid-1"], "the filed one is deleted, the skipped one kept");
    assert.equal((await poll(mailboxId)).fetched, 0);
    assert.deepEqual(server.maildrop.map((m) => m.uid), ["uid-1"]);
    await app.call("PATCH", `/api/mailboxes/${mailboxId}`, { body: { processEmailReceivedAfter: null } });
    await poll(mailboxId);
    assert.deepEqual(server.maildrop, [], "filed now, so deleted now");
    assert.deepEqual(await filedIds(mailboxId), ["<keep-new@cutoff.test>", "<keep-old@cutoff.test>"]);
    assert.deepEqual(await statsOf(mailboxId), { received: 2, sent: 0, failed: 0, skipped: 0, quarantined: 0 });
  } finally {
    await server.close();
  }
});

test("a mailbox moved to a profile with an earlier Process Email From (same server) files what the old one skipped", async () => {
  const server = await Pop3TestServer.start({ messages: [mail("moved", received("Fri, 1 May 2026 10:00:00 +0000"))] });
  try {
    const { mailboxId } = await mailboxOn(server, {}, { processEmailFrom: "2026-06-01T00:00:00.000Z" });
    await poll(mailboxId);
    assert.equal((await statsOf(mailboxId)).skipped, 1);
    const other = await app.call("POST", "/api/profiles", {
      body: {
        name: `earlier ${seq}`, incoming: { host: "127.0.0.1", port: server.port, useSsl: false }, outgoing: { host: "127.0.0.1", port: 2525, useSsl: false },
        allowCredentialsOverInsecureChannels: true, minPollingIntervalMinutes: 0, processEmailFrom: "2026-01-01T00:00:00.000Z",
      },
    });
    assert.equal(other.status, 201, other.text);
    const moved = await app.call("PATCH", `/api/mailboxes/${mailboxId}`, { body: { profileId: other.body.id } });
    assert.equal(moved.status, 200, moved.text);
    // Moving profiles asks for Test & Enable again; passed, as before.
    await app.services.repos.mailboxes.update(mailboxId, (m) => ({ ...m, incoming: { ...m.incoming, enabled: true, status: "success" } }));
    assert.equal((await poll(mailboxId)).fetched, 1);
    assert.deepEqual(await filedIds(mailboxId), ["<moved@cutoff.test>"]);
    assert.deepEqual(await statsOf(mailboxId), { received: 1, sent: 0, failed: 0, skipped: 0, quarantined: 0 });
  } finally {
    await server.close();
  }
});
