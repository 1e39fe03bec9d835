/**
 * End to end against Dovecot: awkward messages put into carol's Maildir come back through the
 * API byte for byte, exactly once, via Test & Enable, the scheduler, the queue and the POP3 sync.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import tls from "node:tls";
import net from "node:net";
import { readFileSync } from "node:fs";
import { startTestApp, MASTER_KEY, type TestApp } from "../test/support/app.js";
import { testAndEnable } from "../test/support/mailboxes.js";
import { deliverToMaildir, emptyMaildir, mailServers, type MailServers } from "./support/mailServers.js";
import { fetchAllNaively } from "./support/naivePop3.js";
import { waitFor } from "../test/support/waitFor.js";
import { freePort } from "../shared/runtime/azurite.js";

const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");
const latin1 = (s: string): Buffer => Buffer.from(s, "latin1");

const CORPUS: Record<string, Buffer> = {
  dots: latin1("Message-ID: <e2e-dots@e2e.test>\nSubject: dots\n\n.leading dot\n..two dots\n.\nend\n"),
  eightBit: latin1("Message-ID: <e2e-8bit@e2e.test>\nSubject: =?iso-8859-1?q?caf=E9?=\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\ncaf\xe9 na\xefve \xff\n"),
  noMessageId: latin1("Subject: no message id\nFrom: x@fabrikam.test\n\nbody without id\n"),
  longLine: latin1(`Message-ID: <e2e-long@e2e.test>\nSubject: long\n\n${"x".repeat(5000)}\n`),
  big: latin1(`Message-ID: <e2e-big@e2e.test>\nSubject: big\n\n${"line of text that repeats\n".repeat(80_000)}`),
  mime: latin1("Message-ID: <e2e-mime@e2e.test>\nSubject: mime\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=zz\n\n--zz\nContent-Type: text/plain\n\nhi\n--zz\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename=\"a.bin\"\nContent-Transfer-Encoding: base64\n\nAAECAwQFBgcICQ==\n--zz--\n"),
};

let app: TestApp;
let servers: MailServers;

async function runScheduler(): Promise<void> {
  assert.equal(await app.runFunction("mailboxScheduler"), 202);
}

async function profile(name: string, incoming: Record<string, unknown>): Promise<string> {
  const p = await app.call("POST", "/api/profiles", {
    body: { name, incoming: { host: servers.host, ...incoming }, outgoing: { host: servers.host, port: servers.submissionPort, useSsl: false }, minPollingIntervalMinutes: 0 },
  });
  assert.equal(p.status, 201, p.text);
  return p.body.id;
}

async function mailbox(profileId: string, address: string, user: string, password: string): Promise<string> {
  const m = await app.call("POST", "/api/mailboxes", {
    body: { owner: { type: "queue", id: `q-${address}` }, emailAddress: address, profileId, credentials: { userName: user, password }, incomingFilter: "all" },
  });
  assert.equal(m.status, 201, m.text);
  await app.call("POST", `/api/mailboxes/${m.body.id}/approve`, { key: MASTER_KEY });
  return m.body.id;
}

before(async () => {
  servers = mailServers();
  app = await startTestApp();
});
after(async () => { await app?.stop(); });

test("awkward messages come back from /raw with the sha256 Dovecot serves; later runs create nothing", async () => {
  emptyMaildir(servers, "carol");
  for (const [name, bytes] of Object.entries(CORPUS)) deliverToMaildir(servers, "carol", name, bytes);
  deliverToMaildir(servers, "carol", "dup", CORPUS.dots!); // the same Message-ID twice: one activity
  const served = await fetchAllNaively({ host: servers.host, port: servers.pop3sPort, ca: servers.ca, user: "carol", password: servers.users.carol! });
  assert.equal(served.size, Object.keys(CORPUS).length + 1);
  const servedShas = new Set([...served.values()].map(sha));

  const pid = await profile("Dovecot STLS", { port: servers.pop3Port, useSsl: false });
  const mid = await mailbox(pid, "carol@e2e.test", "carol", servers.users.carol!);
  const job = await testAndEnable(app, mid);
  assert.equal(job.results[0].incomingStatus, "success", JSON.stringify(job.results));

  await runScheduler();
  const items: any[] = await waitFor("activities", async () => {
    const got = (await app.call("GET", `/api/emails?mailboxId=${mid}&top=100`)).body.items;
    return got.length >= Object.keys(CORPUS).length ? got : undefined;
  }).catch(async (err: unknown) => {
    const state = (await app.call("GET", `/api/mailboxes/${mid}`)).body;
    const got = (await app.call("GET", `/api/emails?mailboxId=${mid}&top=100`)).body.items.map((e: any) => e.subject);
    throw new Error(`${(err as Error).message}: mailbox ${JSON.stringify({ lastError: state.lastError, stats: state.stats })}, got ${JSON.stringify(got)}`);
  });
  assert.equal(items.length, Object.keys(CORPUS).length);
  for (const e of items) {
    const raw = await fetch(`${app.url}/api/emails/${e.id}/raw`, { headers: { "x-functions-key": app.settings.API_KEY! } });
    const bytes = Buffer.from(await raw.arrayBuffer());
    assert.equal(sha(bytes), e.sha256);
    assert.ok(servedShas.has(e.sha256), `${e.messageId}: /raw differs from what Dovecot serves`);
  }
  const noId = items.find((e) => e.subject === "no message id");
  assert.match(noId.messageId, /^<[0-9a-f]{64}@message-id\.invalid>$/);

  for (let i = 0; i < 2; i++) {
    await runScheduler();
    await new Promise((r) => setTimeout(r, 3000));
  }
  assert.equal((await app.call("GET", `/api/emails?mailboxId=${mid}&top=100`)).body.items.length, Object.keys(CORPUS).length);
  const mb = (await app.call("GET", `/api/mailboxes/${mid}`)).body;
  assert.equal(mb.incomingStatus, "success");
  assert.ok(mb.lastSuccessfulSyncAt);
});

test("implicit TLS (995-style) works too", async () => {
  emptyMaildir(servers, "carol");
  deliverToMaildir(servers, "carol", "tls", latin1("Message-ID: <e2e-pop3s@e2e.test>\nSubject: over pop3s\n\nhi\n"));
  const pid = await profile("Dovecot POP3S", { port: servers.pop3sPort, useSsl: true });
  const mid = await mailbox(pid, "carol-tls@e2e.test", "carol", servers.users.carol!);
  assert.equal((await testAndEnable(app, mid)).results[0].incomingStatus, "success");
  await runScheduler();
  const items: any[] = await waitFor("activity", async () => {
    const got = (await app.call("GET", `/api/emails?mailboxId=${mid}`)).body.items;
    return got.length > 0 ? got : undefined;
  });
  assert.equal(items[0].messageId, "<e2e-pop3s@e2e.test>");
});

test("Test & Enable failures: wrong password, closed port, expired certificate", async () => {
  const wrong = await mailbox(await profile("Dovecot wrong pw", { port: servers.pop3Port, useSsl: false }), "wrong@e2e.test", "carol", "not-carols-password");
  const w = await testAndEnable(app, wrong);
  assert.equal(w.results[0].incomingStatus, "failure");
  assert.equal(w.results[0].error.code, "AUTH_FAILED");
  const wm = (await app.call("GET", `/api/mailboxes/${wrong}`)).body;
  assert.equal(wm.enabledForIncoming, false);
  const alerts = (await app.call("GET", `/api/alerts?mailboxId=${wrong}&level=error`)).body.items;
  assert.ok(alerts.some((a: any) => a.code === "AUTH_FAILED" && a.message.includes("wrong@e2e.test") && /password/.test(a.message)));

  const closed = await mailbox(await profile("Closed port", { port: await freePort(), useSsl: false }), "closed@e2e.test", "carol", servers.users.carol!);
  const c = await testAndEnable(app, closed);
  assert.equal(c.results[0].error.code, "NETWORK_UNREACHABLE");
  assert.equal(c.results[0].error.transient, true);
  assert.equal((await app.call("GET", `/api/mailboxes/${closed}`)).body.postponedUntil, null);

  // A TLS front with an expired certificate (signed by the test CA) before Dovecot's plain port.
  const fixtures = new URL("../test/fixtures/tls/", import.meta.url);
  const front = tls.createServer({ key: readFileSync(new URL("expired.key", fixtures)), cert: readFileSync(new URL("expired.crt", fixtures)) }, (s) => {
    const back = net.connect(servers.pop3Port, servers.host);
    s.pipe(back).pipe(s);
    s.on("error", () => back.destroy());
    back.on("error", () => s.destroy());
  });
  await new Promise<void>((r) => front.listen(0, "127.0.0.1", r));
  try {
    const port = (front.address() as net.AddressInfo).port;
    const expired = await mailbox(await profile("Expired cert", { port, useSsl: true }), "expired@e2e.test", "carol", servers.users.carol!);
    const x = await testAndEnable(app, expired);
    assert.equal(x.results[0].error.code, "TLS_CERTIFICATE_UNTRUSTED");
    assert.equal(x.results[0].error.transient, false);
  } finally {
    front.close();
  }
});
