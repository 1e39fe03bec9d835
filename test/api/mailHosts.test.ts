/**
 * Mail and token hosts (issue 10, point 8): link-local and cloud metadata addresses, and names that
 * resolve to them, are refused when a profile is saved (400 naming the field) and again at connect
 * time (a name whose DNS answer changes after the save: rebinding), for POP3 and SMTP alike.
 * Loopback stays allowed. Names are resolved through the host policy's test seam.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import dns from "node:dns";
import { SMTPServer } from "smtp-server";
import type { AddressInfo } from "node:net";
import { startTestApp, type TestApp } from "../support/app.js";
import { Pop3TestServer } from "../support/pop3-server.js";
import { isForbiddenAddress, useHostResolver } from "../../shared/net/hostPolicy.js";
import { openSmtpSession } from "../../shared/smtp/session.js";

let app: TestApp;
let pop3: Pop3TestServer;
let smtp: SMTPServer;
let smtpPort = 0;
let smtpConnections = 0;
/** What the fake DNS answers; anything else goes to the system resolver. */
const dnsAnswers = new Map<string, string[]>();
let restoreResolver: () => void = () => undefined;

before(async () => {
  restoreResolver = useHostResolver(async (h) =>
    dnsAnswers.get(h) ?? (await dns.promises.lookup(h, { all: true })).map((a) => a.address));
  app = await startTestApp();
  pop3 = await Pop3TestServer.start({ messages: [] });
  smtp = new SMTPServer({
    authMethods: ["PLAIN", "LOGIN"], allowInsecureAuth: true, disabledCommands: ["STARTTLS"], logger: false,
    onConnect(_s, cb) { smtpConnections++; cb(); },
    onAuth(auth, _s, cb) { cb(auth.password === "s3cret-Pa55" ? null : new Error("no"), { user: auth.username }); },
  });
  await new Promise<void>((resolve) => smtp.listen(0, "127.0.0.1", resolve));
  smtpPort = (smtp.server.address() as AddressInfo).port;
});
after(async () => {
  restoreResolver();
  await new Promise<void>((resolve) => smtp?.close(() => resolve()));
  await pop3?.close();
  await app?.stop();
});

const profile = (name: string, over: Record<string, unknown> = {}): Record<string, unknown> => ({
  name,
  incoming: { host: "127.0.0.1", port: pop3.port, useSsl: false },
  outgoing: { host: "127.0.0.1", port: smtpPort, useSsl: false },
  allowCredentialsOverInsecureChannels: true,
  ...over,
});
const paths = (res: { body: any }): string[] => (res.body.error?.details ?? []).map((d: { path: string }) => d.path).sort();

test("the address rule: 169.254.0.0/16, fe80::/10 and metadata endpoints, in every notation; loopback and private ranges are fine", () => {
  for (const a of ["169.254.169.254", "169.254.0.1", "::ffff:169.254.169.254", "::ffff:a9fe:a9fe", "fe80::1", "[fe80::1%eth0]", "febf::1",
    "fd00:ec2::254", "168.63.129.16", "100.100.100.200"]) assert.equal(isForbiddenAddress(a), true, a);
  for (const a of ["127.0.0.1", "::1", "10.0.0.1", "192.168.1.1", "fec0::1", "169.253.255.255", "169.255.0.0"]) assert.equal(isForbiddenAddress(a), false, a);
});

test("save time: link-local and metadata hosts are 400 VALIDATION_FAILED naming the field; loopback is accepted", async () => {
  dnsAnswers.set("imds.evil.test", ["10.0.0.5", "169.254.169.254"]);
  const cases: [Record<string, unknown>, string[]][] = [
    [{ incoming: { host: "169.254.169.254", useSsl: true } }, ["incoming.host"]],
    [{ outgoing: { host: "[fe80::1]", useSsl: true } }, ["outgoing.host"]],
    [{ incoming: { host: "metadata.google.internal", useSsl: true } }, ["incoming.host"]],
    [{ outgoing: { host: "imds.evil.test", useSsl: true } }, ["outgoing.host"]],
    [{ incoming: { host: "169.254.1.1", useSsl: true }, outgoing: { host: "imds.evil.test", useSsl: true } }, ["incoming.host", "outgoing.host"]],
  ];
  for (const [i, [over, expected]] of cases.entries()) {
    const res = await app.call("POST", "/api/profiles", { body: profile(`bad host ${i}`, over) });
    assert.equal(res.status, 400, res.text);
    assert.equal(res.body.error.code, "VALIDATION_FAILED");
    assert.deepEqual(paths(res), expected);
  }
  const tokenUrl = await app.call("POST", "/api/profiles", {
    body: profile("bad token host", {
      incoming: { host: "127.0.0.1", port: pop3.port, useSsl: false, authProtocol: "xoauth2" },
      oauth: { tokenUrl: "https://169.254.169.254/metadata/identity/oauth2/token", clientId: "c", clientSecret: "s", scope: "x" },
    }),
  });
  assert.equal(tokenUrl.status, 400, tokenUrl.text);
  assert.deepEqual(paths(tokenUrl), ["oauth.tokenUrl"]);

  const ok = await app.call("POST", "/api/profiles", { body: profile("loopback ok", { incoming: { host: "localhost", port: pop3.port, useSsl: false } }) });
  assert.equal(ok.status, 201, ok.text);
  const patched = await app.call("PATCH", `/api/profiles/${ok.body.id}`, { body: { outgoing: { host: "169.254.169.254" } } });
  assert.equal(patched.status, 400);
  assert.deepEqual(paths(patched), ["outgoing.host"]);
  assert.equal((await app.call("GET", `/api/profiles/${ok.body.id}`)).body.outgoing.host, "127.0.0.1");
});

async function waitForJob(jobId: string): Promise<any> {
  for (let i = 0; i < 150; i++) {
    const job = await app.call("GET", `/api/jobs/${jobId}`);
    if (job.body.status === "succeeded" || job.body.status === "failed") return job.body;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("job did not finish");
}

test("connect time: a name that resolved to loopback when saved and to 169.254.169.254 now is a permanent error; nothing connects", async () => {
  dnsAnswers.set("rebind.test", ["127.0.0.1"]);
  const p = await app.call("POST", "/api/profiles", {
    body: profile("rebinding", { incoming: { host: "rebind.test", port: pop3.port, useSsl: false }, outgoing: { host: "rebind.test", port: smtpPort, useSsl: false } }),
  });
  assert.equal(p.status, 201, p.text);
  const m = await app.call("POST", "/api/mailboxes", {
    body: { owner: { type: "queue", id: "q-rebind" }, emailAddress: "rebind@contoso.test", profileId: p.body.id, credentials: { userName: "alice", password: "s3cret-Pa55" } },
  });
  assert.equal(m.status, 201, m.text);
  // Before the switch the name reaches the test servers: the check below is not vacuous.
  const good = await waitForJob((await app.call("POST", `/api/mailboxes/${m.body.id}/test-and-enable`)).body.jobId);
  assert.deepEqual([good.results[0].incomingStatus, good.results[0].outgoingStatus], ["success", "success"]);

  dnsAnswers.set("rebind.test", ["169.254.169.254"]);
  const pop3Before = pop3.stats.connections;
  const smtpBefore = smtpConnections;
  const job = await waitForJob((await app.call("POST", `/api/mailboxes/${m.body.id}/test-and-enable`)).body.jobId);
  const r = job.results[0];
  assert.deepEqual([r.incomingStatus, r.outgoingStatus], ["failure", "failure"]);
  assert.equal(r.error.code, "NETWORK_UNREACHABLE");
  assert.equal(r.error.transient, false);
  assert.match(r.error.message, /rebind\.test resolves to 169\.254\.169\.254/);
  assert.equal(pop3.stats.connections, pop3Before);
  assert.equal(smtpConnections, smtpBefore);
  const mailbox = (await app.call("GET", `/api/mailboxes/${m.body.id}`)).body;
  assert.equal(mailbox.lastError.transient, false);

  // The SMTP client on its own: an address literal is refused before any socket opens.
  await assert.rejects(
    openSmtpSession({ host: "169.254.169.254", port: 25, useSsl: false, authProtocol: "auto", allowUntrustedCertificates: false, allowCredentialsOverInsecureChannels: false },
      { userName: "a", password: "b" }),
    (err: any) => err.code === "NETWORK_UNREACHABLE" && err.transient === false,
  );
});
