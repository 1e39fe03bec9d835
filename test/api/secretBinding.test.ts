/**
 * A stored secret goes only where it was entered for (issue 10, point 1; docs/decisions/0014).
 * For each way of re-pointing a secret (every target field of a profile, a mailbox's user name
 * and profile), with the admin key the PATCH is 400 SECRET_REENTRY_REQUIRED naming the secret,
 * and after Test & Enable the trap servers standing at the new targets (POP3, SMTP and an OAuth
 * token endpoint, each recording every credential it is sent) never received it. With the
 * secret re-entered, or with the master key (approver), the same change is accepted; a positive
 * control shows the traps do catch a secret that is sent.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import net, { type AddressInfo } from "node:net";
import { createServer, type Server } from "node:http";
import { SMTPServer } from "smtp-server";
import { MASTER_KEY, startTestApp, type TestApp } from "../support/app.js";
import { Pop3TestServer } from "../support/pop3-server.js";

/** Everything a trap received, as text (base64 SASL blobs decoded too). */
const trapped: string[] = [];
const record = (s: string): void => {
  trapped.push(s);
  for (const word of s.split(/\s+/)) trapped.push(Buffer.from(word, "base64").toString("utf8"));
};
const trapSaw = (secret: string): boolean => trapped.some((s) => s.includes(secret));

/** A POP3 server that says yes to everything and records every line (USER, PASS, AUTH and its blob). */
const trapSockets = new Set<net.Socket>();
async function pop3Trap(host: string, port = 0): Promise<net.Server> {
  const server = net.createServer((socket) => {
    trapSockets.add(socket);
    socket.on("close", () => trapSockets.delete(socket));
    socket.write("+OK trap\r\n");
    let buf = "";
    socket.on("data", (c: Buffer) => {
      buf += c.toString("latin1");
      for (let i = buf.indexOf("\r\n"); i >= 0; i = buf.indexOf("\r\n")) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        record(line);
        const verb = line.split(" ")[0]!.toUpperCase();
        if (verb === "CAPA") socket.write("+OK\r\nUSER\r\nSASL PLAIN XOAUTH2\r\n.\r\n");
        else if (verb === "AUTH" && line.split(" ").length === 2) socket.write("+ \r\n");
        else if (verb === "STAT") socket.write("+OK 0 0\r\n");
        else if (verb === "QUIT") socket.end("+OK\r\n");
        else socket.write("+OK\r\n");
      }
    });
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return server;
}

/** An SMTP server that records every login's user name and password (`trap` false: the profile's own server, not recorded). */
async function smtpTrap(host: string, port = 0, trap = true): Promise<SMTPServer> {
  const server = new SMTPServer({
    authMethods: ["PLAIN", "LOGIN", "XOAUTH2"], allowInsecureAuth: true, disabledCommands: ["STARTTLS"], logger: false, closeTimeout: 100,
    onAuth(auth, _s, cb) {
      if (trap) record(`${auth.username ?? ""} ${auth.password ?? ""} ${auth.accessToken ?? ""}`);
      cb(null, { user: auth.username });
    },
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return server;
}

/** An OAuth token endpoint that records every request body (client_secret included). */
let token: Server & { url?: string } = createServer();
async function tokenTrap(): Promise<Server & { url: string }> {
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString("utf8")));
    req.on("end", () => {
      record(decodeURIComponent(body));
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ token_type: "Bearer", access_token: "trap-token", expires_in: 3600 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return Object.assign(server, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token` });
}

let app: TestApp;
let pop3: Pop3TestServer;
let smtp: SMTPServer;
let smtpPort = 0;
const closers: (() => Promise<unknown>)[] = [];
let trapPopPort = 0;
let trapSmtpPort = 0;
let trapTokenUrl = "";
const TRAP_HOST = "127.0.0.2"; // loopback too, another address: "another host" with the same ports
const TOKEN_URL = "http://127.0.0.1:9/unused-token-endpoint";

before(async () => {
  app = await startTestApp();
  pop3 = await Pop3TestServer.start({ messages: [] });
  smtp = await smtpTrap("127.0.0.1", 0, false); // the profile's own server
  smtpPort = (smtp.server.address() as AddressInfo).port;
  const sameHostPop = await pop3Trap(TRAP_HOST, pop3.port);
  const samePortSmtp = await smtpTrap(TRAP_HOST, smtpPort);
  const otherPortPop = await pop3Trap("127.0.0.1");
  const otherPortSmtp = await smtpTrap("127.0.0.1");
  token = await tokenTrap();
  trapPopPort = (otherPortPop.address() as AddressInfo).port;
  trapSmtpPort = (otherPortSmtp.server.address() as AddressInfo).port;
  trapTokenUrl = token.url!;
  for (const s of [sameHostPop, otherPortPop, token]) closers.push(() => new Promise((r) => s.close(r)));
  for (const s of [samePortSmtp, otherPortSmtp, smtp]) closers.push(() => new Promise<void>((r) => s.close(() => r())));
});
after(async () => {
  for (const socket of trapSockets) socket.destroy();
  token.closeAllConnections();
  for (const close of closers) await close();
  await pop3?.close();
  await app?.stop();
});

interface Fixture { profileId: string; mailboxId: string; secret: string }
let counter = 0;

async function fixture(profile: Record<string, unknown> = {}): Promise<Fixture> {
  const n = ++counter;
  const secret = `pw-${n}-${Math.random().toString(36).slice(2)}`;
  const body = {
    name: `binding ${n}`,
    incoming: { host: "127.0.0.1", port: pop3.port, useSsl: false, authProtocol: "user" },
    outgoing: { host: "127.0.0.1", port: smtpPort, useSsl: false },
    allowCredentialsOverInsecureChannels: true,
    ...profile,
  };
  // Profile secrets get the fixture's secret too, so one value is tracked wherever it is stored.
  const withSecret = JSON.parse(JSON.stringify(body).replaceAll("$SECRET", secret)) as Record<string, unknown>;
  const p = await app.call("POST", "/api/profiles", { body: withSecret });
  assert.equal(p.status, 201, p.text);
  const m = await app.call("POST", "/api/mailboxes", {
    body: { owner: { type: "queue", id: `q-bind-${n}` }, emailAddress: `bind-${n}@contoso.test`, profileId: p.body.id, credentials: { userName: "alice", password: secret } },
  });
  assert.equal(m.status, 201, m.text);
  return { profileId: p.body.id, mailboxId: m.body.id, secret };
}

interface Case {
  name: string;
  profile?: Record<string, unknown>;
  /** The PATCH: on the profile unless `on` says mailbox. */
  on?: "mailbox";
  change: (fx: Fixture) => Record<string, unknown>;
  details: (fx: Fixture) => string[];
  /** The same change with the secret entered again. */
  reentered?: (fx: Fixture) => Record<string, unknown>;
}

const mbx = (fx: Fixture): string[] => [`mailboxes[${fx.mailboxId}].credentials.password`];
const profileCreds = { authenticateUsing: "profileCredentials", credentials: { userName: "svc", password: "$SECRET" } };
const separateOutgoing = { useSameSettingsForOutgoing: false, outgoingCredentials: { userName: "out", password: "$SECRET" } };
const oauthIncoming = {
  incoming: { host: "127.0.0.1", port: 0, useSsl: false, authProtocol: "xoauth2" },
  oauth: { tokenUrl: TOKEN_URL, clientId: "app-1", clientSecret: "$SECRET", scope: "pop" },
};

const cases: Case[] = [
  { name: "profile incoming.host", change: () => ({ incoming: { host: TRAP_HOST } }), details: mbx },
  { name: "profile incoming.port", change: () => ({ incoming: { port: trapPopPort } }), details: mbx },
  { name: "profile outgoing.host", change: () => ({ outgoing: { host: TRAP_HOST } }), details: mbx },
  { name: "profile outgoing.port", change: () => ({ outgoing: { port: trapSmtpPort } }), details: mbx },
  { name: "profile incoming.useSsl", change: () => ({ incoming: { useSsl: true, port: pop3.port } }), details: mbx },
  { name: "profile incoming.authProtocol", change: () => ({ incoming: { authProtocol: "saslPlain" } }), details: mbx },
  { name: "profile outgoing.authProtocol", change: () => ({ outgoing: { authProtocol: "login" } }), details: mbx },
  {
    name: "profile allowCredentialsOverInsecureChannels", profile: { allowCredentialsOverInsecureChannels: false },
    change: () => ({ allowCredentialsOverInsecureChannels: true }), details: mbx,
  },
  { name: "profile allowUntrustedCertificates", change: () => ({ allowUntrustedCertificates: true }), details: mbx },
  {
    name: "profile credentials: incoming.host", profile: profileCreds, change: () => ({ incoming: { host: TRAP_HOST } }),
    details: () => ["credentials.password"],
    reentered: () => ({ incoming: { host: TRAP_HOST }, credentials: { userName: "svc", password: "entered-again" } }),
  },
  {
    name: "profile credentials.userName", profile: profileCreds, change: () => ({ credentials: { userName: "someone-else" } }),
    details: () => ["credentials.password"],
    reentered: () => ({ credentials: { userName: "someone-else", password: "entered-again" } }),
  },
  {
    name: "profile outgoingCredentials: outgoing.port", profile: separateOutgoing, change: () => ({ outgoing: { port: trapSmtpPort } }),
    details: () => ["outgoingCredentials.password"],
    reentered: () => ({ outgoing: { port: trapSmtpPort }, outgoingCredentials: { userName: "out", password: "entered-again" } }),
  },
  {
    name: "profile oauth.tokenUrl", profile: oauthIncoming,
    change: () => ({ oauth: { tokenUrl: trapTokenUrl, clientId: "app-1", scope: "pop" } }),
    details: () => ["oauth.clientSecret"],
    reentered: () => ({ oauth: { tokenUrl: trapTokenUrl, clientId: "app-1", scope: "pop", clientSecret: "entered-again" } }),
  },
  {
    name: "mailbox credentials.userName", on: "mailbox", change: () => ({ credentials: { userName: "bob" } }),
    details: () => ["credentials.password"], reentered: () => ({ credentials: { userName: "bob", password: "entered-again" } }),
  },
];

async function patch(fx: Fixture, c: Case, body: Record<string, unknown>, key?: string) {
  const path = c.on === "mailbox" ? `/api/mailboxes/${fx.mailboxId}` : `/api/profiles/${fx.profileId}`;
  return app.call("PATCH", path, { body, ...(key ? { key } : {}) });
}

async function waitForJob(jobId: string): Promise<any> {
  for (let i = 0; i < 200; i++) {
    const job = await app.call("GET", `/api/jobs/${jobId}`);
    if (job.body.status === "succeeded" || job.body.status === "failed") return job.body;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("job did not finish");
}
const testAndEnable = async (fx: Fixture, on?: "mailbox"): Promise<any> => {
  const res = await app.call("POST", on === "mailbox" ? `/api/mailboxes/${fx.mailboxId}/test-and-enable` : `/api/profiles/${fx.profileId}/test-and-enable`);
  assert.equal(res.status, 202, res.text);
  return waitForJob(res.body.jobId);
};

const snapshot = async (fx: Fixture): Promise<string> =>
  JSON.stringify([(await app.call("GET", `/api/profiles/${fx.profileId}`)).body, (await app.call("GET", `/api/mailboxes/${fx.mailboxId}`)).body]);

test("each way of re-pointing a stored secret: 400 SECRET_REENTRY_REQUIRED, and after Test & Enable no trap ever received it", async () => {
  oauthIncoming.incoming.port = pop3.port;
  const refused: { fx: Fixture; c: Case }[] = [];
  for (const c of cases) {
    const fx = await fixture(c.profile);
    const before = await snapshot(fx);
    const res = await patch(fx, c, c.change(fx));
    assert.equal(res.status, 400, `${c.name}: ${res.text}`);
    assert.equal(res.body.error.code, "SECRET_REENTRY_REQUIRED", c.name);
    assert.deepEqual(res.body.error.details.map((d: { path: string }) => d.path), c.details(fx), c.name);
    assert.doesNotMatch(res.text, new RegExp(fx.secret));
    assert.equal(await snapshot(fx), before, `${c.name}: nothing changed`);
    refused.push({ fx, c });
  }
  // Moving a mailbox to a profile whose target differs.
  const moved = await fixture();
  const elsewhere = await fixture({ incoming: { host: "127.0.0.1", port: trapPopPort, useSsl: false, authProtocol: "user" } });
  const move = await app.call("PATCH", `/api/mailboxes/${moved.mailboxId}`, { body: { profileId: elsewhere.profileId } });
  assert.equal(move.status, 400, move.text);
  assert.equal(move.body.error.code, "SECRET_REENTRY_REQUIRED");
  assert.deepEqual(move.body.error.details.map((d: { path: string }) => d.path), ["credentials.password"]);
  assert.equal((await app.call("GET", `/api/mailboxes/${moved.mailboxId}`)).body.profileId, moved.profileId);

  const jobs = await Promise.all([...refused.map(({ fx, c }) => testAndEnable(fx, c.on)), testAndEnable(moved, "mailbox")]);
  assert.ok(jobs.every((j) => j.status === "succeeded"));
  for (const { fx, c } of refused) assert.equal(trapSaw(fx.secret), false, `${c.name}: a trap received the secret`);
  assert.equal(trapSaw(moved.secret), false, "moved mailbox: a trap received the secret");
});

test("the same changes with the secret re-entered (admin key) or by an approver (master key) are accepted", async () => {
  for (const c of cases) {
    const byApprover = await fixture(c.profile);
    const res = await patch(byApprover, c, c.change(byApprover), MASTER_KEY);
    assert.equal(res.status, 200, `${c.name} (master key): ${res.text}`);
    if (c.reentered) {
      const fx = await fixture(c.profile);
      const again = await patch(fx, c, c.reentered(fx));
      assert.equal(again.status, 200, `${c.name} (re-entered): ${again.text}`);
    }
  }
  // A move to a profile with the same target needs nothing; a move elsewhere with the password again is fine.
  const fx = await fixture();
  const twin = await fixture();
  assert.equal((await app.call("PATCH", `/api/mailboxes/${fx.mailboxId}`, { body: { profileId: twin.profileId } })).status, 200);
  const elsewhere = await fixture({ incoming: { host: "127.0.0.1", port: trapPopPort, useSsl: false, authProtocol: "user" } });
  const move = await app.call("PATCH", `/api/mailboxes/${fx.mailboxId}`, {
    body: { profileId: elsewhere.profileId, credentials: { userName: "alice", password: "entered-again" } },
  });
  assert.equal(move.status, 200, move.text);
  // Changes that send nothing elsewhere need nothing either.
  assert.equal((await app.call("PATCH", `/api/profiles/${fx.profileId}`, { body: { description: "d", minPollingIntervalMinutes: 7 } })).status, 200);
});

test("positive control: once an approver moves the host, Test & Enable sends the stored password there (the traps work)", async () => {
  const fx = await fixture();
  assert.equal((await app.call("PATCH", `/api/profiles/${fx.profileId}`, { body: { incoming: { host: TRAP_HOST } }, key: MASTER_KEY })).status, 200);
  await testAndEnable(fx);
  assert.equal(trapSaw(fx.secret), true);
});

test("a bad re-entry is a plain 400 VALIDATION_FAILED and changes nothing", async () => {
  const fx = await fixture(profileCreds);
  const before = await snapshot(fx);
  const empty = await app.call("PATCH", `/api/profiles/${fx.profileId}`, { body: { incoming: { host: TRAP_HOST }, credentials: { userName: "svc", password: "" } } });
  assert.equal(empty.status, 400);
  assert.equal(empty.body.error.code, "VALIDATION_FAILED");
  assert.deepEqual(empty.body.error.details.map((d: { path: string }) => d.path), ["credentials.password"]);
  const noUser = await app.call("PATCH", `/api/mailboxes/${fx.mailboxId}`, { body: { credentials: { password: "x" } } });
  assert.equal(noUser.status, 400);
  assert.equal(noUser.body.error.code, "VALIDATION_FAILED");
  assert.equal(await snapshot(fx), before);
});

test("a profile with many mailboxes: the details list is capped and says how many", async () => {
  const fx = await fixture();
  for (let i = 0; i < 24; i++) {
    const m = await app.call("POST", "/api/mailboxes", {
      body: { owner: { type: "queue", id: `q-many-${i}` }, emailAddress: `many-${i}@contoso.test`, profileId: fx.profileId, credentials: { userName: `u${i}`, password: "p" } },
    });
    assert.equal(m.status, 201, m.text);
  }
  const res = await app.call("PATCH", `/api/profiles/${fx.profileId}`, { body: { incoming: { host: TRAP_HOST } } });
  assert.equal(res.status, 400);
  const details = res.body.error.details as { path: string; message: string }[];
  assert.equal(details.length, 21);
  assert.ok(details.slice(0, 20).every((d) => /^mailboxes\[[0-9a-f-]{36}\]\.credentials\.password$/.test(d.path)));
  assert.equal(details[20]!.path, "mailboxes[*].credentials.password");
  assert.match(details[20]!.message, /and 5 more mailboxes \(25 in all\)/);
});
