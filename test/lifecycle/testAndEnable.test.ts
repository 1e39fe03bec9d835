import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { SMTPServer } from "smtp-server";
import type { AddressInfo } from "node:net";
import { startTestApp, type TestApp } from "../support/app.js";
import { Pop3TestServer } from "../support/pop3-server.js";

let app: TestApp;
let pop3: Pop3TestServer;
let smtp: SMTPServer;
let smtpPort = 0;

before(async () => {
  app = await startTestApp();
  pop3 = await Pop3TestServer.start({ messages: [] });
  smtp = new SMTPServer({
    authMethods: ["PLAIN", "LOGIN"], allowInsecureAuth: true, disabledCommands: ["STARTTLS"], logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === "alice" && auth.password === "s3cret-Pa55") cb(null, { user: "alice" });
      else cb(Object.assign(new Error("Invalid credentials"), { responseCode: 535 }));
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, "127.0.0.1", resolve));
  smtpPort = (smtp.server.address() as AddressInfo).port;
});
after(async () => {
  await new Promise<void>((resolve) => smtp?.close(() => resolve()));
  await pop3?.close();
  await app?.stop();
});

async function profile(name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const p = await app.call("POST", "/api/profiles", {
    body: {
      name, incoming: { host: "127.0.0.1", port: pop3.port, useSsl: false }, outgoing: { host: "127.0.0.1", port: smtpPort, useSsl: false },
      allowCredentialsOverInsecureChannels: true, ...extra,
    },
  });
  assert.equal(p.status, 201, p.text);
  return p.body.id;
}

async function mailbox(profileId: string, address: string, password = "s3cret-Pa55"): Promise<string> {
  const m = await app.call("POST", "/api/mailboxes", {
    body: { owner: { type: "queue", id: `q-${address}` }, emailAddress: address, profileId, credentials: { userName: "alice", password } },
  });
  assert.equal(m.status, 201, m.text);
  return m.body.id;
}

async function waitForJob(jobId: string): Promise<any> {
  for (let i = 0; i < 150; i++) {
    const job = await app.call("GET", `/api/jobs/${jobId}`);
    assert.equal(job.status, 200);
    if (job.body.status === "succeeded" || job.body.status === "failed") return job.body;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("job did not finish");
}

test("a passing Test & Enable enables both directions, before approval too", async () => {
  await app.call("PATCH", "/api/settings", { body: { alerts: { information: true } } });
  const id = await mailbox(await profile("T&E ok"), "te-ok@contoso.test");
  const started = await app.call("POST", `/api/mailboxes/${id}/test-and-enable`);
  assert.equal(started.status, 202);
  const job = await waitForJob(started.body.jobId);
  assert.equal(job.status, "succeeded");
  assert.equal(job.kind, "testMailbox");
  assert.deepEqual([job.total, job.done], [1, 1]);
  assert.deepEqual(job.results, [{ mailboxId: id, outcome: "succeeded", incomingStatus: "success", outgoingStatus: "success", error: null }]);
  const m = (await app.call("GET", `/api/mailboxes/${id}`)).body;
  assert.equal(m.enabledForIncoming, true);
  assert.equal(m.enabledForOutgoing, true);
  assert.equal(m.approval, "pendingApproval");
  assert.ok(pop3.count("STAT") >= 1);
  const info = (await app.call("GET", `/api/alerts?mailboxId=${id}&level=information`)).body.items;
  assert.equal(info[0].code, "MAILBOX_ENABLED");
});

test("a wrong password leaves both directions failed and disabled, with an error alert and no postponement", async () => {
  const id = await mailbox(await profile("T&E bad"), "te-bad@contoso.test", "wrong-password");
  const job = await waitForJob((await app.call("POST", `/api/mailboxes/${id}/test-and-enable`)).body.jobId);
  assert.equal(job.status, "succeeded");
  assert.equal(job.results[0].error.code, "AUTH_FAILED");
  assert.equal(job.results[0].error.transient, false);
  const m = (await app.call("GET", `/api/mailboxes/${id}`)).body;
  assert.equal(m.incomingStatus, "failure");
  assert.equal(m.outgoingStatus, "failure");
  assert.equal(m.enabledForIncoming, false);
  assert.equal(m.postponedUntil, null);
  assert.equal(m.lastError.code, "AUTH_FAILED");
  const errors = (await app.call("GET", `/api/alerts?mailboxId=${id}&level=error`)).body.items;
  assert.equal(errors.length, 2);
  assert.ok(errors.every((a: any) => a.message.includes("te-bad@contoso.test")));
});

test("a profile's Test & Enable covers every mailbox within its connection limit", async () => {
  const pid = await profile("T&E profile", { maxConcurrentConnections: 1 });
  const ids = [await mailbox(pid, "p1@contoso.test"), await mailbox(pid, "p2@contoso.test"), await mailbox(pid, "p3@contoso.test", "bad")];
  const started = await app.call("POST", `/api/profiles/${pid}/test-and-enable`);
  assert.equal(started.status, 202);
  const job = await waitForJob(started.body.jobId);
  assert.equal(job.kind, "testProfile");
  assert.deepEqual([job.status, job.total, job.done], ["succeeded", 3, 3]);
  assert.deepEqual(job.results.map((r: any) => r.mailboxId).sort(), [...ids].sort());
  assert.equal(job.results.filter((r: any) => r.error).length, 1);
});

test("apply default settings: 400s, then defaults applied and tested", async () => {
  const id = await mailbox(await profile("T&E other"), "te-defaults@contoso.test");
  await app.call("PATCH", "/api/settings", { body: { defaultProfileId: null } });
  const noDefault = await app.call("POST", "/api/mailboxes/apply-default-settings", { body: { mailboxIds: [id] } });
  assert.equal(noDefault.status, 400);
  const def = await profile("T&E default");
  await app.call("PATCH", "/api/settings", { body: { defaultProfileId: def } });
  const unknown = await app.call("POST", "/api/mailboxes/apply-default-settings", { body: { mailboxIds: [id, "nope"] } });
  assert.equal(unknown.status, 400);
  assert.equal(unknown.body.error.details[0].path, "mailboxIds.1");
  assert.equal((await app.call("POST", "/api/mailboxes/apply-default-settings", { body: { mailboxIds: [] } })).status, 400);
  const started = await app.call("POST", "/api/mailboxes/apply-default-settings", { body: { mailboxIds: [id] } });
  assert.equal(started.status, 202);
  const job = await waitForJob(started.body.jobId);
  assert.equal(job.kind, "applyDefaultSettings");
  const m = (await app.call("GET", `/api/mailboxes/${id}`)).body;
  assert.equal(m.profileId, def);
  assert.equal(m.enabledForIncoming, true);
});

test("404 for a test of a mailbox or profile that does not exist", async () => {
  assert.equal((await app.call("POST", "/api/mailboxes/missing/test-and-enable")).status, 404);
  assert.equal((await app.call("POST", "/api/profiles/missing/test-and-enable")).status, 404);
});
