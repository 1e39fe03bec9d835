/**
 * OAuth 2.0 (decision 0010) against the real servers: erin has no password; Dovecot's oauth2
 * passdb validates her bearer tokens itself (JWTs signed with the key scripts/e2e/setup.sh made),
 * for POP3 and for Postfix's SASL. The app gets the tokens with the client credentials grant from a
 * loopback token endpoint and logs in with XOAUTH2: Test & Enable, a scheduled poll over STLS and a
 * send through submission (STARTTLS) via the queue trigger, all through the API.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { openSync, readSync, closeSync, statSync } from "node:fs";
import { simpleParser } from "mailparser";
import { startTestApp, MASTER_KEY, type TestApp } from "../test/support/app.js";
import { testAndEnable } from "../test/support/mailboxes.js";
import { OAuthTokenServer } from "../test/support/oauth-token-server.js";
import { waitFor } from "../test/support/waitFor.js";
import { deliverToMaildir, emptyMaildir, mailServers, waitForDelivery, type MailServers } from "./support/mailServers.js";
import { fetchAllNaively } from "./support/naivePop3.js";
import { signedToken } from "./support/oauthJwt.js";

const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");
const SECRET = "e2e-client-secret";
const POSTFIX_LOG = "/var/log/postfix-e2e.log";

/** What `file` gained after `offset` (a log file the servers append to). */
function logSince(file: string, offset: number): string {
  const fd = openSync(file, "r");
  try {
    const bytes = Buffer.alloc(Math.max(0, statSync(file).size - offset));
    readSync(fd, bytes, 0, bytes.length, offset);
    return bytes.toString("utf8");
  } finally {
    closeSync(fd);
  }
}

let app: TestApp;
let servers: MailServers;
let tokens: OAuthTokenServer;
let user: string; // erin
let address: string;

before(async () => {
  servers = mailServers();
  user = servers.oauth.users[0]!;
  address = `${user}@${servers.domain}`;
  app = await startTestApp();
  tokens = await OAuthTokenServer.start({ clientId: servers.oauth.clientId, clientSecret: SECRET, scope: servers.oauth.scope });
  tokens.tokenFactory = (lifetimeS) => signedToken(servers.oauth, address, { lifetimeS });
});
after(async () => {
  await tokens?.close();
  await app?.stop();
});

/**
 * A profile with both directions on XOAUTH2 (POP3 STLS, submission STARTTLS) and an approved
 * mailbox; without credentials the XOAUTH2 user is the mailbox's address.
 */
async function oauthMailbox(name: string, tokenUrl: string, emailAddress: string, credentials?: { userName: string }): Promise<string> {
  const profile = await app.call("POST", "/api/profiles", {
    body: {
      name,
      incoming: { host: servers.host, port: servers.pop3Port, useSsl: false, authProtocol: "xoauth2" },
      outgoing: { host: servers.host, port: servers.submissionPort, useSsl: false, authProtocol: "xoauth2" },
      oauth: { tokenUrl, clientId: servers.oauth.clientId, clientSecret: SECRET, scope: servers.oauth.scope },
      minPollingIntervalMinutes: 0,
    },
  });
  assert.equal(profile.status, 201, profile.text);
  const mailbox = await app.call("POST", "/api/mailboxes", {
    body: { owner: { type: "queue", id: `q-${name}` }, emailAddress, profileId: profile.body.id, incomingFilter: "all", ...(credentials ? { credentials } : {}) },
  });
  assert.equal(mailbox.status, 201, mailbox.text);
  assert.equal((await app.call("POST", `/api/mailboxes/${mailbox.body.id}/approve`, { key: MASTER_KEY })).status, 200);
  return mailbox.body.id;
}

test("XOAUTH2 with tokens Dovecot validates: Test & Enable, a poll over STLS and a send through submission", async () => {
  emptyMaildir(servers, user);
  const message = Buffer.from(`Message-ID: <e2e-oauth-${randomBytes(4).toString("hex")}@fabrikam.test>\nFrom: bob@fabrikam.test\nTo: ${address}\nSubject: via a token\n\n.a leading dot\nhi\n`, "latin1");
  deliverToMaildir(servers, user, "oauth", message);
  // The reference: what Dovecot serves to an XOAUTH2 login of its own, with a token signed here.
  const served = [...(await fetchAllNaively({ host: servers.host, port: servers.pop3sPort, ca: servers.ca, user: address, accessToken: signedToken(servers.oauth, address) })).values()];
  assert.equal(served.length, 1);

  const id = await oauthMailbox("e2e-oauth", tokens.url, address);
  const before = tokens.requests;
  const job = await testAndEnable(app, id);
  assert.deepEqual(job.results, [{ mailboxId: id, outcome: "succeeded", incomingStatus: "success", outgoingStatus: "success", error: null }]);

  assert.equal(await app.runFunction("mailboxScheduler"), 202);
  const items: any[] = await waitFor("activity", async () => {
    const got = (await app.call("GET", `/api/emails?mailboxId=${id}`)).body.items;
    return got.length > 0 ? got : undefined;
  }).catch(async (err: unknown) => {
    const state = (await app.call("GET", `/api/mailboxes/${id}`)).body;
    throw new Error(`${(err as Error).message}: mailbox ${JSON.stringify({ lastError: state.lastError, stats: state.stats })}`);
  });
  assert.deepEqual(items.map((e) => e.subject), ["via a token"]);
  assert.equal(items[0].sha256, sha(served[0]!));
  const raw = await fetch(`${app.url}/api/emails/${items[0].id}/raw`, { headers: { "x-functions-key": app.settings.API_KEY! } });
  assert.equal(sha(Buffer.from(await raw.arrayBuffer())), items[0].sha256);

  // Postfix refuses a sender the SASL login may not use (reject_sender_login_mismatch): the
  // XOAUTH2 login erin@e2e.test maps to her address.
  const logStart = statSync(POSTFIX_LOG).size;
  const created = await app.call("POST", "/api/emails", { body: { mailboxId: id, to: [`bob@${servers.domain}`], subject: "Sent with a token", text: "Hello Bob" } });
  assert.equal(created.status, 201, created.text);
  const delivered = await simpleParser(await waitForDelivery(servers, "bob", created.body.messageId));
  assert.equal(delivered.from?.value[0]?.address, address);
  assert.equal(delivered.subject, created.body.subject);
  await waitFor("email sent", async () => ((await app.call("GET", `/api/emails/${created.body.id}`)).body.status === "sent" ? true : undefined), 10_000);
  await waitFor("Postfix's log of the XOAUTH2 login", () => Promise.resolve(logSince(POSTFIX_LOG, logStart).includes(`sasl_method=XOAUTH2, sasl_username=${address}`) || undefined), 5_000);

  const m = (await app.call("GET", `/api/mailboxes/${id}`)).body;
  assert.deepEqual([m.incomingStatus, m.outgoingStatus, m.enabledForIncoming, m.enabledForOutgoing, m.lastError], ["success", "success", true, true, null]);
  assert.equal(tokens.requests - before, 1, "Test & Enable, the poll and the send: one token");
});

test("a token Dovecot refuses (signed with another key) is AUTH_FAILED in Test & Enable", async () => {
  // Another tenant's token endpoint: its tokens look right but are signed with a key Dovecot does not have.
  const rogue = await OAuthTokenServer.start({ clientId: servers.oauth.clientId, clientSecret: SECRET, scope: servers.oauth.scope });
  rogue.tokenFactory = (lifetimeS) => signedToken(servers.oauth, address, { lifetimeS, key: randomBytes(32) });
  try {
    // erin's login again (the address is taken by the mailbox above), with a user name only.
    const id = await oauthMailbox("e2e-oauth-refused", rogue.url, `${user}-refused@${servers.domain}`, { userName: address });
    const job = await testAndEnable(app, id);
    const result = job.results[0];
    assert.deepEqual([result.incomingStatus, result.outgoingStatus], ["failure", "failure"], JSON.stringify(job.results));
    assert.equal(result.error.code, "AUTH_FAILED");
    assert.equal(result.error.transient, false);
    assert.match(result.error.message, /XOAUTH2 status: 401/, "Dovecot's error challenge was read and acknowledged");
    assert.equal(rogue.requests, 1, "a token refused right after it was got is not replaced");
    assert.ok(!JSON.stringify(job).includes(rogue.current!.split(".")[2]!), "the token never shows");
    const m = (await app.call("GET", `/api/mailboxes/${id}`)).body;
    assert.deepEqual([m.enabledForIncoming, m.incomingStatus], [false, "failure"]);
  } finally {
    await rogue.close();
  }
});
