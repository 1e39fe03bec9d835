/**
 * Delegation (issue 11, point 2): one profile account logs in for each of its mailboxes, through
 * the whole app. The test POP3 server has a master user `svc` and per-user maildrops; Test & Enable
 * and polls of two mailboxes each read only their own mail, by SASL PLAIN authzid and by the
 * `mailbox*svc` login form. Outgoing sends as the mailbox's address, authenticated as `svc`.
 * `none` keeps today's meaning: every mailbox reads the account's own (shared) maildrop.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { definitions } from "../../functions/definitions.js";
import { mailboxOutgoingFunction } from "../../functions/mailboxOutgoing.js";
import { pollMailbox } from "../../shared/sync/incoming/pollMailbox.js";
import { sendMailbox } from "../../shared/sync/outgoing/sendMailbox.js";
import { MASTER_KEY, startTestApp, type TestApp } from "../support/app.js";
import { emailsOf } from "../support/emails.js";
import { testAndEnable } from "../support/mailboxes.js";
import { Pop3TestServer } from "../support/pop3-server.js";
import { ScriptedSmtpServer } from "../outgoing/support/smtpServer.js";

const SVC = { userName: "svc", password: "svc-master-pw" };
const msg = (id: string): string => `Message-ID: <${id}@test>\r\nFrom: x@fabrikam.test\r\nSubject: ${id}\r\n\r\nbody of ${id}\r\n`;

let app: TestApp;
let pop3: Pop3TestServer;
let smtp: ScriptedSmtpServer;

before(async () => {
  // No outgoing queue poller: the test runs sendMailbox itself.
  app = await startTestApp({ definitions: definitions.filter((d) => d.name !== mailboxOutgoingFunction.name) });
  pop3 = await Pop3TestServer.start({
    ...SVC, saslPlain: true, master: { ...SVC, separator: "*" }, messages: [msg("svc-own")],
    users: { frank: [msg("frank-1")], "grace@contoso.test": [msg("grace-1")] },
  });
  smtp = await ScriptedSmtpServer.start({ tls: "none", users: { [SVC.userName]: SVC.password } });
});
after(async () => {
  await pop3?.close();
  await smtp?.close();
  await app?.stop();
});

async function profile(name: string, incoming: Record<string, unknown>): Promise<string> {
  const p = await app.call("POST", "/api/profiles", {
    body: {
      name, incoming: { host: "127.0.0.1", port: pop3.port, useSsl: false, ...incoming },
      outgoing: { host: "127.0.0.1", port: smtp.port, useSsl: false },
      allowCredentialsOverInsecureChannels: true, minPollingIntervalMinutes: 0,
      authenticateUsing: "profileCredentials", credentials: SVC,
    },
  });
  assert.equal(p.status, 201, p.text);
  return p.body.id;
}

/** frank logs in as "frank" (his credentials' user name, no password); grace has none, so her address is her login. */
async function mailbox(profileId: string, address: string, userName?: string): Promise<string> {
  const m = await app.call("POST", "/api/mailboxes", {
    body: {
      owner: { type: "queue", id: `q-${address}` }, emailAddress: address, profileId, incomingFilter: "all",
      ...(userName ? { credentials: { userName } } : {}),
    },
  });
  assert.equal(m.status, 201, m.text);
  assert.equal((await app.call("POST", `/api/mailboxes/${m.body.id}/approve`, { key: MASTER_KEY })).status, 200);
  return m.body.id;
}

const subjects = async (mailboxId: string): Promise<string[]> =>
  (await emailsOf(app, mailboxId)).filter((e) => e.direction === "incoming").map((e) => e.subject).sort();

/** What the server was sent as logins since `from`: USER names and decoded AUTH PLAIN blobs (password cut). */
function loginsSince(from: number): string[] {
  return pop3.stats.commands.slice(from).flatMap((c) => {
    if (c.line.startsWith("USER ")) return [c.line];
    if (!c.line.startsWith("AUTH PLAIN ")) return [];
    const [authzid, authcid] = Buffer.from(c.line.slice(11), "base64").toString("utf8").split("\0");
    return [`PLAIN ${authzid}/${authcid}`];
  });
}

describe("delegation through the app", () => {
  let profileId = "";
  let frank = "";
  let grace = "";

  test("saslAuthzid: Test & Enable logs in for each mailbox, and each poll files only that mailbox's mail", async () => {
    profileId = await profile("Delegated", { delegation: "saslAuthzid" });
    frank = await mailbox(profileId, "frank@contoso.test", "frank");
    grace = await mailbox(profileId, "grace@contoso.test");
    const from = pop3.stats.commands.length;
    for (const id of [frank, grace]) {
      const job = await testAndEnable(app, id);
      assert.equal(job.results[0].error, null, JSON.stringify(job.results[0]));
      assert.equal(job.results[0].incomingStatus, "success");
    }
    assert.deepEqual(loginsSince(from), ["PLAIN frank/svc", "PLAIN grace@contoso.test/svc"]);

    for (const id of [frank, grace]) assert.equal((await pollMailbox(app.services, id)).status, "done");
    assert.deepEqual(await subjects(frank), ["frank-1"]);
    assert.deepEqual(await subjects(grace), ["grace-1"]);
    assert.equal(pop3.maildrop.length, 1, "the account's own maildrop is not read");
  });

  test("outgoing sends as the mailbox's address, authenticated as the profile's account", async () => {
    const posted = await app.call("POST", "/api/emails", { body: { mailboxId: frank, to: ["bob@fabrikam.test"], subject: "from frank", text: "hi" } });
    assert.equal(posted.status, 201, posted.text);
    assert.equal(await sendMailbox(app.services, frank), "done");
    const got = smtp.delivered().filter((r) => r.bytes.includes("from frank"));
    assert.equal(got.length, 1);
    assert.equal(got[0]!.from, "frank@contoso.test");
    assert.match(got[0]!.bytes.toString("latin1"), /^From: .*frank@contoso\.test/m);
    assert.ok(smtp.logins.every((l) => l.endsWith(`:${SVC.userName}`)) && smtp.logins.length > 0, smtp.logins.join());
  });

  test("changing the delegation needs the password again (or the approver) and sends the mailboxes back to Test & Enable", async () => {
    const refused = await app.call("PATCH", `/api/profiles/${profileId}`, { body: { incoming: { delegation: "loginSeparator" } } });
    assert.equal(refused.status, 400, refused.text);
    assert.equal(refused.body.error.code, "SECRET_REENTRY_REQUIRED");
    assert.deepEqual(refused.body.error.details.map((d: { path: string }) => d.path), ["credentials.password"]);
    assert.equal((await app.call("GET", `/api/profiles/${profileId}`)).body.incoming.delegation, "saslAuthzid", "nothing changed");
    assert.equal((await app.call("GET", `/api/mailboxes/${frank}`)).body.incomingStatus, "success");

    const changed = await app.call("PATCH", `/api/profiles/${profileId}`, { body: { incoming: { delegation: "loginSeparator" }, credentials: SVC } });
    assert.equal(changed.status, 200, changed.text);
    assert.deepEqual([changed.body.incoming.delegation, changed.body.incoming.delegationSeparator], ["loginSeparator", "*"]);
    for (const id of [frank, grace]) assert.equal((await app.call("GET", `/api/mailboxes/${id}`)).body.incomingStatus, "notRun");

    // The approver may change the separator without re-entering the password; it resets the mailboxes too.
    const bySeparator = await app.call("PATCH", `/api/profiles/${profileId}`, { body: { incoming: { delegationSeparator: "%" } }, key: MASTER_KEY });
    assert.equal(bySeparator.status, 200, bySeparator.text);
    const back = await app.call("PATCH", `/api/profiles/${profileId}`, { body: { incoming: { delegationSeparator: "*" } }, key: MASTER_KEY });
    assert.equal(back.status, 200, back.text);
  });

  test("loginSeparator: <mailbox login>*svc reads each mailbox's own maildrop", async () => {
    pop3.maildrops.get("frank")!.push({ uid: "f2", body: Buffer.from(msg("frank-2")) });
    pop3.maildrops.get("grace@contoso.test")!.push({ uid: "g2", body: Buffer.from(msg("grace-2")) });
    const from = pop3.stats.commands.length;
    for (const id of [frank, grace]) assert.equal((await testAndEnable(app, id)).results[0].error, null);
    for (const id of [frank, grace]) assert.equal((await pollMailbox(app.services, id)).status, "done");
    // auto with SASL PLAIN offered: the separator form is the authcid, with no authzid.
    const logins = new Set(loginsSince(from));
    assert.deepEqual([...logins].sort(), ["PLAIN /frank*svc", "PLAIN /grace@contoso.test*svc"]);
    assert.deepEqual(await subjects(frank), ["frank-1", "frank-2"]);
    assert.deepEqual(await subjects(grace), ["grace-1", "grace-2"]);
  });

  test("a mailbox whose login contains the separator fails Test & Enable with DELEGATION_UNSUPPORTED", async () => {
    const odd = await mailbox(profileId, "odd@contoso.test", "od*d");
    const job = await testAndEnable(app, odd);
    assert.equal(job.results[0].error.code, "DELEGATION_UNSUPPORTED");
    assert.equal(job.results[0].incomingStatus, "failure");
  });

  test("saslAuthzid against a server without SASL PLAIN fails Test & Enable with DELEGATION_UNSUPPORTED, nothing sent as the account alone", async () => {
    const noPlain = await Pop3TestServer.start({ ...SVC, saslPlain: false, master: { ...SVC, separator: "*" }, users: { henry: [msg("henry-1")] } });
    try {
      const p = await app.call("POST", "/api/profiles", {
        body: {
          name: "No PLAIN", incoming: { host: "127.0.0.1", port: noPlain.port, useSsl: false, delegation: "saslAuthzid" },
          outgoing: { host: "127.0.0.1", port: smtp.port, useSsl: false }, allowCredentialsOverInsecureChannels: true,
          authenticateUsing: "profileCredentials", credentials: SVC,
        },
      });
      assert.equal(p.status, 201, p.text);
      const job = await testAndEnable(app, await mailbox(p.body.id, "henry@contoso.test", "henry"));
      assert.equal(job.results[0].error.code, "DELEGATION_UNSUPPORTED");
      assert.equal(noPlain.count("USER") + noPlain.count("PASS") + noPlain.count("AUTH"), 0);
    } finally {
      await noPlain.close();
    }
  });

  test("none: every mailbox logs in as the account and reads its one shared maildrop (as before delegation)", async () => {
    const shared = await profile("Shared maildrop", {});
    const a = await mailbox(shared, "ann@contoso.test", "ann");
    const from = pop3.stats.commands.length;
    assert.equal((await testAndEnable(app, a)).results[0].error, null);
    assert.equal((await pollMailbox(app.services, a)).status, "done");
    assert.deepEqual(await subjects(a), ["svc-own"]);
    assert.ok(loginsSince(from).every((l) => l === "PLAIN /svc"), loginsSince(from).join());
  });
});
