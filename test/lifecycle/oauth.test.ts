import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { MASTER_KEY, startTestApp, type TestApp } from "../support/app.js";
import { Pop3TestServer } from "../support/pop3-server.js";
import { OAuthTokenServer } from "../support/oauth-token-server.js";
import { waitFor } from "../support/waitFor.js";
import { pollMailbox } from "../../shared/sync/incoming/pollMailbox.js";
import { sendMailbox } from "../../shared/sync/outgoing/sendMailbox.js";

// Microsoft 365 style: app-only access, one client for the tenant, a token of ~1.5 KB, the mailbox
// address as the XOAUTH2 user. Both directions log in with the token; no mailbox has a password.
const ADDRESS = "shared-inbox@contoso.test";
const SECRET = "entra-client-secret-7Qv";
const TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.".padEnd(1500, "a");
const SCOPE = "https://outlook.office365.com/.default";

/** Real time, but a test can skip ahead (a token's age matters to the cache). */
const clock = { skipMs: 0, now(): Date { return new Date(Date.now() + this.skipMs); } };
let app: TestApp;
let tokens: OAuthTokenServer;
let pop3: Pop3TestServer;
let smtp: SMTPServer;
let smtpPort = 0;
const delivered: string[] = [];
/** The token the SMTP server accepts (the POP3 server's is pop3.options.accessToken). */
let smtpToken = TOKEN;
let smtpLogins = 0;

before(async () => {
  app = await startTestApp({ overrides: { clock } });
  tokens = await OAuthTokenServer.start({ clientId: "app-1", clientSecret: SECRET, scope: SCOPE });
  tokens.fixedToken = TOKEN;
  pop3 = await Pop3TestServer.start({
    userName: ADDRESS, accessToken: TOKEN, saslPlain: true,
    messages: [Buffer.from(`Message-ID: <oauth-1@fabrikam.test>\r\nFrom: bob@fabrikam.test\r\nTo: ${ADDRESS}\r\nSubject: via token\r\n\r\nhi\r\n`)],
  });
  smtp = new SMTPServer({
    authMethods: ["XOAUTH2"], allowInsecureAuth: true, disabledCommands: ["STARTTLS"], logger: false,
    onAuth(auth, _session, cb) {
      smtpLogins++;
      if (auth.method === "XOAUTH2" && auth.username === ADDRESS && auth.accessToken === smtpToken) return cb(null, { user: ADDRESS });
      // What Gmail and Microsoft 365 answer to a bad token: a 334 challenge with a JSON status, then 535.
      return cb(null, { data: { status: "401", schemes: "bearer" } });
    },
    onData(stream, _session, cb) {
      let text = "";
      stream.on("data", (c: Buffer) => { text += c.toString("latin1"); });
      stream.on("end", () => { delivered.push(text); cb(); });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, "127.0.0.1", resolve));
  smtpPort = (smtp.server.address() as AddressInfo).port;
});
after(async () => {
  await new Promise<void>((resolve) => smtp?.close(() => resolve()));
  await pop3?.close();
  await tokens?.close();
  await app?.stop();
});

const oauthProfile = (name: string, oauth: Record<string, unknown> | null = { tokenUrl: tokens.url, clientId: "app-1", clientSecret: SECRET, scope: SCOPE }) => ({
  name,
  incoming: { host: "127.0.0.1", port: pop3.port, useSsl: false, authProtocol: "xoauth2" },
  outgoing: { host: "127.0.0.1", port: smtpPort, useSsl: false, authProtocol: "xoauth2" },
  allowCredentialsOverInsecureChannels: true, minPollingIntervalMinutes: 0,
  ...(oauth ? { oauth } : {}),
});

/** Starts a Test & Enable (of a mailbox or a whole profile) and waits for its job to end. */
async function testAndEnable(id: string, of: "mailboxes" | "profiles" = "mailboxes"): Promise<any> {
  const started = await app.call("POST", `/api/${of}/${id}/test-and-enable`);
  assert.equal(started.status, 202, started.text);
  return waitFor("the Test & Enable job", async () => {
    const job = (await app.call("GET", `/api/jobs/${started.body.jobId}`)).body;
    return job.status === "succeeded" || job.status === "failed" ? job : undefined;
  }, 15_000, 100);
}

test("profiles: xoauth2 needs an OAuth client with a secret; the secret is write-only", async () => {
  const paths = (res: any): string[] => res.body.error.details.map((d: { path: string }) => d.path).sort();
  const post = (body: unknown) => app.call("POST", "/api/profiles", { body });
  assert.deepEqual(paths(await post(oauthProfile("no client", null))), ["oauth"]);
  const { clientSecret: _s, ...withoutSecret } = { tokenUrl: tokens.url, clientId: "app-1", clientSecret: SECRET, scope: SCOPE };
  assert.deepEqual(paths(await post(oauthProfile("no secret", withoutSecret))), ["oauth.clientSecret"]);
  assert.deepEqual(paths(await post(oauthProfile("clear url", { ...withoutSecret, clientSecret: "x", tokenUrl: "http://login.example.test/token" }))), ["oauth.tokenUrl"]);
  assert.deepEqual(paths(await post(oauthProfile("bogus", { ...withoutSecret, clientSecret: "x", tenant: "t" }))), ["oauth.tenant"]);

  const created = await post(oauthProfile("OAuth OK"));
  assert.equal(created.status, 201, created.text);
  assert.deepEqual(created.body.oauth, { tokenUrl: tokens.url, clientId: "app-1", scope: SCOPE, hasClientSecret: true });
  assert.equal(created.body.incoming.authProtocol, "xoauth2");
  assert.doesNotMatch(created.text, new RegExp(SECRET));
  const renamed = await app.call("PATCH", `/api/profiles/${created.body.id}`, { body: { oauth: withoutSecret } });
  assert.equal(renamed.status, 200, renamed.text);
  assert.equal(renamed.body.oauth.hasClientSecret, true, "a change without clientSecret keeps the stored one");
  const dropped = await app.call("PATCH", `/api/profiles/${created.body.id}`, { body: { oauth: null } });
  assert.deepEqual(paths(dropped), ["oauth"]);
  const openapi = (await app.call("GET", "/api/openapi.json")).text;
  assert.match(openapi, /xoauth2/);
  assert.match(openapi, /hasClientSecret/);
});

test("Test & Enable, a poll and a send all log in with one token; a refused client says why", async () => {
  const profile = await app.call("POST", "/api/profiles", { body: oauthProfile("OAuth flow") });
  assert.equal(profile.status, 201, profile.text);
  const mailbox = await app.call("POST", "/api/mailboxes", {
    body: { owner: { type: "queue", id: "q-oauth" }, emailAddress: ADDRESS, profileId: profile.body.id, incomingFilter: "all" },
  });
  assert.equal(mailbox.status, 201, mailbox.text);
  const id: string = mailbox.body.id;
  const before = tokens.requests;
  const job = await testAndEnable(id);
  assert.deepEqual(job.results, [{ mailboxId: id, outcome: "succeeded", incomingStatus: "success", outgoingStatus: "success", error: null }]);
  assert.equal((await app.call("POST", `/api/mailboxes/${id}/approve`, { key: MASTER_KEY })).status, 200);

  const polled = await pollMailbox(app.services, id);
  assert.equal(polled.status, "done", JSON.stringify(polled));
  const emails = (await app.call("GET", `/api/emails?mailboxId=${id}`)).body.items;
  assert.deepEqual(emails.map((e: any) => e.subject), ["via token"]);

  const queued = await app.call("POST", "/api/emails", { body: { mailboxId: id, to: ["bob@fabrikam.test"], subject: "Re: via token", text: "ok" } });
  assert.equal(queued.status, 201, queued.text);
  await sendMailbox(app.services, id);
  assert.equal((await app.call("GET", `/api/emails/${queued.body.id}`)).body.status, "sent");
  assert.equal(delivered.length, 1);
  assert.equal(tokens.requests - before, 1, "Test & Enable of both directions, a poll and a send: one token request");

  // The client secret is rotated in Entra but not here: the token endpoint refuses the client.
  const rotated = await app.call("PATCH", `/api/profiles/${profile.body.id}`, {
    body: { oauth: { tokenUrl: tokens.url, clientId: "app-1", clientSecret: "an-old-secret", scope: SCOPE } },
  });
  assert.equal(rotated.status, 200, rotated.text);
  assert.equal((await app.call("GET", `/api/mailboxes/${id}`)).body.incomingStatus, "notRun", "a new secret means a new Test & Enable");
  const failed = await testAndEnable(id);
  const error = failed.results[0].error;
  assert.equal(error.code, "AUTH_FAILED");
  assert.equal(error.transient, false);
  assert.match(error.message, /OAuth token endpoint .* refused the profile's client \(invalid_client/);
  assert.doesNotMatch(JSON.stringify(failed), /an-old-secret|entra-client-secret/);
  const alerts = (await app.call("GET", `/api/alerts?mailboxId=${id}&level=error`)).body.items;
  assert.ok(alerts.some((a: any) => a.code === "AUTH_FAILED" && a.message.includes(ADDRESS)), JSON.stringify(alerts));
});

test("a token the mail server refuses is AUTH_FAILED on both protocols", async () => {
  tokens.fixedToken = "a-token-the-servers-do-not-accept";
  clock.skipMs += 2 * 60_000; // the token cached by the test before is stale: this one gets a new one
  const loginsBefore = smtpLogins;
  try {
    const profile = await app.call("POST", "/api/profiles", { body: oauthProfile("OAuth refused") });
    const mailbox = await app.call("POST", "/api/mailboxes", {
      body: { owner: { type: "queue", id: "q-oauth-refused" }, emailAddress: "refused@contoso.test", profileId: profile.body.id },
    });
    const job = await testAndEnable(mailbox.body.id);
    assert.deepEqual([job.results[0].incomingStatus, job.results[0].outgoingStatus], ["failure", "failure"]);
    assert.equal(job.results[0].error.code, "AUTH_FAILED");
    assert.doesNotMatch(JSON.stringify(job), /a-token-the-servers/);
    assert.equal(smtpLogins - loginsBefore, 1, "a refused token is one failed SMTP login, not two towards a lockout");
  } finally {
    tokens.fixedToken = TOKEN;
  }
});

test("a cached token the servers stop accepting is replaced once, and the mailbox carries on", async () => {
  const profile = await app.call("POST", "/api/profiles", { body: oauthProfile("OAuth rotation") });
  const mailbox = await app.call("POST", "/api/mailboxes", {
    body: {
      owner: { type: "queue", id: "q-oauth-rotation" }, emailAddress: "rotation@contoso.test", profileId: profile.body.id,
      credentials: { userName: ADDRESS }, incomingFilter: "all",
    },
  });
  assert.equal(mailbox.status, 201, mailbox.text);
  const id: string = mailbox.body.id;
  clock.skipMs += 2 * 60_000; // tokens cached by earlier tests are stale
  assert.equal((await testAndEnable(id)).results[0].error, null);
  await app.call("POST", `/api/mailboxes/${id}/approve`, { key: MASTER_KEY });

  // Two minutes on, the tenant revokes the app's tokens: the servers accept only tokens issued from now on.
  clock.skipMs += 2 * 60_000;
  const rotate = (token: string): void => { tokens.fixedToken = token; pop3.options.accessToken = token; smtpToken = token; };
  try {
    rotate(`${TOKEN}-rotated-1`);
    const before = tokens.requests;
    const polled = await pollMailbox(app.services, id);
    assert.equal(polled.status, "done", JSON.stringify(polled));
    assert.equal(tokens.requests - before, 1, "the refused token was replaced by one new request");
    clock.skipMs += 2 * 60_000;
    rotate(`${TOKEN}-rotated-2`);
    const queued = await app.call("POST", "/api/emails", { body: { mailboxId: id, to: ["bob@fabrikam.test"], subject: "after rotation", text: "ok" } });
    await sendMailbox(app.services, id);
    assert.equal((await app.call("GET", `/api/emails/${queued.body.id}`)).body.status, "sent");
    const m = (await app.call("GET", `/api/mailboxes/${id}`)).body;
    assert.deepEqual([m.incomingStatus, m.outgoingStatus, m.enabledForIncoming, m.enabledForOutgoing, m.transientFailureCount, m.lastError],
      ["success", "success", true, true, 0, null]);
  } finally {
    rotate(TOKEN);
  }
});

test("a token refused within a minute of being got is not replaced again: one token request, not one per mailbox", async () => {
  const profile = await app.call("POST", "/api/profiles", { body: oauthProfile("OAuth never accepted") });
  const ids: string[] = [];
  for (const n of [1, 2, 3]) {
    const m = await app.call("POST", "/api/mailboxes", {
      body: { owner: { type: "queue", id: `q-never-${n}` }, emailAddress: `never${n}@contoso.test`, profileId: profile.body.id, credentials: { userName: ADDRESS } },
    });
    ids.push(m.body.id);
  }
  tokens.fixedToken = "never-accepted";
  clock.skipMs += 2 * 60_000; // whatever earlier tests cached is no longer fresh
  try {
    const before = tokens.requests;
    const job = await testAndEnable(profile.body.id, "profiles");
    assert.deepEqual(job.results.map((r: any) => r.error?.code), ["AUTH_FAILED", "AUTH_FAILED", "AUTH_FAILED"]);
    assert.equal(tokens.requests - before, 1, "three mailboxes, both directions, one token request");
  } finally {
    tokens.fixedToken = TOKEN;
  }
});
