/**
 * The deployed flow end to end: POST /api/emails, the queue message, `mailboxOutgoing` on the dev
 * host, Postfix, dave's Maildir. The app trusts the e2e CA the way an admin trusts a private CA,
 * through NODE_EXTRA_CA_CERTS (scripts/run-tests.mjs sets it for test-e2e).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { definitions } from "../functions/definitions.js";
import { emailSendRoutes } from "../functions/emailsSend.js";
import { mailboxOutgoingFunction } from "../functions/mailboxOutgoing.js";
import { MASTER_KEY, startTestApp, type TestApp } from "../test/support/app.js";
import { mailServers, waitForDelivery, type MailServers } from "./support/mailServers.js";

let app: TestApp;
let servers: MailServers;
before(async () => {
  servers = mailServers();
  const mine = new Set([...emailSendRoutes.map((r) => r.name), mailboxOutgoingFunction.name]);
  app = await startTestApp({ definitions: [...definitions.filter((d) => !mine.has(d.name)), ...emailSendRoutes, mailboxOutgoingFunction] });
});
after(async () => { await app?.stop(); });

test("POST /api/emails reaches dave's Maildir through the queue trigger", { skip: !process.env.NODE_EXTRA_CA_CERTS && "run through npm run test:e2e (NODE_EXTRA_CA_CERTS)" }, async () => {
  const profile = await app.call("POST", "/api/profiles", {
    body: {
      name: "e2e queue path", incoming: { host: servers.host, port: servers.pop3sPort, useSsl: true },
      outgoing: { host: servers.host, port: servers.submissionPort, useSsl: false },
    },
  });
  assert.equal(profile.status, 201, profile.text);
  const mailbox = await app.call("POST", "/api/mailboxes", {
    body: { owner: { type: "user", id: "e2e-q-alice", name: "Alice" }, emailAddress: `alice@${servers.domain}`, profileId: profile.body.id, credentials: { userName: "alice", password: servers.users.alice } },
  });
  assert.equal(mailbox.status, 201, mailbox.text);
  assert.equal((await app.call("POST", `/api/mailboxes/${mailbox.body.id}/approve`, { key: MASTER_KEY })).status, 200);
  await app.services.repos.mailboxes.update(mailbox.body.id, (m) => ({ ...m, outgoing: { ...m.outgoing, enabled: true } }));
  const created = await app.call("POST", "/api/emails", { body: { mailboxId: mailbox.body.id, to: [`dave@${servers.domain}`], subject: "Via the queue", text: "hi" } });
  assert.equal(created.status, 201, created.text);
  const delivered = await waitForDelivery(servers, "dave", created.body.messageId);
  assert.ok(delivered.includes(`Subject: Via the queue ${created.body.trackingToken}`));
  for (let i = 0; i < 50 && (await app.services.emails.require(created.body.id)).doc.status !== "sent"; i++) await sleep(100);
  assert.equal((await app.services.emails.require(created.body.id)).doc.status, "sent");
});
