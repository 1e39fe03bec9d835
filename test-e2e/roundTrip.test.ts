/**
 * The whole product end to end, through the API and the hosts only: alice sends to bob through
 * Postfix, bob's mailbox fetches it from Dovecot, bob replies through the API, and a second reply
 * written by hand keeps only the tracking token; both replies correlate to alice's activity.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startTestApp, MASTER_KEY, type TestApp } from "../test/support/app.js";
import { deliverToMaildir, emptyMaildir, mailServers, waitForDelivery, type MailServers } from "./support/mailServers.js";
import { waitFor } from "../test/support/waitFor.js";

let app: TestApp;
let servers: MailServers;
before(async () => {
  servers = mailServers();
  app = await startTestApp();
});
after(async () => { await app?.stop(); });

const scheduler = async (): Promise<void> => {
  assert.equal(await app.runFunction("mailboxScheduler"), 202);
};

async function userMailbox(user: string, profileId: string): Promise<string> {
  const m = await app.call("POST", "/api/mailboxes", {
    body: { owner: { type: "user", id: `rt-${user}`, name: user }, emailAddress: `${user}@${servers.domain}`, profileId, credentials: { userName: user, password: servers.users[user] } },
  });
  assert.equal(m.status, 201, m.text);
  assert.equal((await app.call("POST", `/api/mailboxes/${m.body.id}/approve`, { key: MASTER_KEY })).status, 200);
  const started = await app.call("POST", `/api/mailboxes/${m.body.id}/test-and-enable`);
  const job = await waitFor("Test & Enable", async () => {
    const j = (await app.call("GET", `/api/jobs/${started.body.jobId}`)).body;
    return j.status === "succeeded" ? j : undefined;
  });
  assert.deepEqual([job.results[0].incomingStatus, job.results[0].outgoingStatus], ["success", "success"], JSON.stringify(job.results));
  return m.body.id;
}

const email = async (id: string): Promise<any> => (await app.call("GET", `/api/emails/${id}`)).body;
const sent = (id: string) => waitFor(`email ${id} sent`, async () => {
  const e = await email(id);
  if (e.status === "failed") throw new Error(`send failed: ${JSON.stringify(e.error)}`);
  return e.status === "sent" ? e : undefined;
});

test("alice → bob → reply through the API and by hand; both replies correlate", async () => {
  emptyMaildir(servers, "alice"); // alice's Maildir is this test's alone
  const profile = await app.call("POST", "/api/profiles", {
    body: {
      name: "Round trip", minPollingIntervalMinutes: 0,
      incoming: { host: servers.host, port: servers.pop3sPort, useSsl: true },
      outgoing: { host: servers.host, port: servers.submissionPort, useSsl: false },
    },
  });
  assert.equal(profile.status, 201, profile.text);
  const alice = await userMailbox("alice", profile.body.id);
  const bob = await userMailbox("bob", profile.body.id);

  const created = await app.call("POST", "/api/emails", {
    body: { mailboxId: alice, to: [`bob@${servers.domain}`], subject: "Quote request", text: "Could you send a quote?" },
  });
  assert.equal(created.status, 201, created.text);
  const original = await sent(created.body.id);
  assert.ok(original.trackingToken);
  await waitForDelivery(servers, "bob", original.messageId);

  // Bob's mailbox fetches it: the same Message-ID, so the same activity, now also bob's.
  await scheduler();
  await waitFor("bob's fetch", async () => ((await email(original.id)).receivedByMailboxIds.includes(bob) ? true : undefined));
  const bobsList = (await app.call("GET", `/api/emails?mailboxId=${bob}`)).body.items;
  assert.ok(bobsList.some((e: any) => e.id === original.id));

  // Bob replies through the API.
  const reply = await app.call("POST", "/api/emails", {
    body: { mailboxId: bob, to: [`alice@${servers.domain}`], subject: `RE: ${original.subject}`, text: "Here it is.", inReplyToEmailId: original.id },
  });
  assert.equal(reply.status, 201, reply.text);
  const replySent = await sent(reply.body.id);
  assert.equal(replySent.inReplyTo, original.messageId);
  assert.equal(replySent.correlatedEmailId, original.id);
  assert.equal(replySent.conversationId, original.conversationId);
  await waitForDelivery(servers, "alice", replySent.messageId);

  // A second reply written by hand: a new Message-ID, no In-Reply-To or References, a new
  // subject that keeps only the tracking token.
  deliverToMaildir(servers, "alice", "handmade", `Message-ID: <handmade-${Date.now()}@fabrikam.test>\nFrom: bob@${servers.domain}\nTo: alice@${servers.domain}\nSubject: Price list ${original.trackingToken}\nDate: ${new Date().toUTCString()}\n\nAnd the price list.\n`);

  await scheduler();
  const byHand = await waitFor("the hand-written reply", async () => {
    const items = (await app.call("GET", `/api/emails?mailboxId=${alice}&direction=incoming`)).body.items;
    return items.find((e: any) => e.subject.startsWith("Price list"));
  });
  assert.equal(byHand.correlationMethod, "trackingToken");
  assert.equal(byHand.correlatedEmailId, original.id);
  assert.equal(byHand.conversationId, original.conversationId);
  await waitFor("alice's fetch of bob's reply", async () => ((await email(replySent.id)).receivedByMailboxIds.includes(alice) ? true : undefined));
  const conversation = (await app.call("GET", `/api/emails?conversationId=${original.conversationId}`)).body.items;
  // Bob's Maildir may hold mail of other runs (Maildirs outlive a test's Azurite), so the
  // conversation is checked for the three activities of this run.
  const ids = new Set(conversation.map((e: any) => e.id));
  for (const e of [original, replySent, byHand]) assert.ok(ids.has(e.id), `${e.subject} is in the conversation`);
});
