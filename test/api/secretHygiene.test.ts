/**
 * Secret hygiene (issue 10): a self-contained end-to-end flow with known secrets (a profile
 * password, a mailbox password, an OAuth client secret, both API keys), against servers that
 * echo what they are sent (a POP3 server quoting the PASS line in its -ERR, a token endpoint
 * quoting the client secret in error_description), then a scan of everything the app left
 * behind: captured logs, every table entity, every blob, every queue message (poison queues
 * included), the alerts and every HTTP response body. Zero hits, in plain, URL/form-encoded and
 * base64 form.
 *
 * Self-contained in test/ rather than at the end of test-e2e/: node --test runs files in separate
 * processes, possibly at once, so a last file cannot see the logs or responses of the others.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ADMIN_KEY, MASTER_KEY, startTestApp, type TestApp } from "../support/app.js";
import { startRawServer, closedPort, type RawServer } from "../support/pop3-raw-server.js";
import { waitFor } from "../support/waitFor.js";
import { createLogger } from "../../shared/runtime/logger.js";
import { ALL_CONTAINERS, ALL_QUEUES, ALL_TABLES } from "../../shared/storage/names.js";

const SECRETS = {
  profilePassword: "Prof1le-Pw-7fQz",
  mailboxPassword: "Ma1lbox-Pw-K2xv",
  newMailboxPassword: "N3w-Ma1lbox-Pw-R8",
  clientSecret: "0auth-Cl1ent+Secret/Zq9=",
  adminKey: ADMIN_KEY,
  masterKey: MASTER_KEY,
};

const logs: string[] = [];
const responses: string[] = [];
let app: TestApp;
let pop3: RawServer;
let tokenServer: Server;
let tokenUrl: string;

before(async () => {
  // A POP3 server that quotes the password back in its refusal, as a hostile or careless one might.
  pop3 = await startRawServer((socket) => {
    socket.write("+OK ready\r\n");
    socket.on("data", (data: Buffer) => {
      for (const line of data.toString("latin1").split("\r\n").filter(Boolean)) {
        if (/^CAPA/i.test(line)) socket.write("+OK\r\nUSER\r\n.\r\n");
        else if (/^USER /i.test(line)) socket.write("+OK\r\n");
        else if (/^PASS /i.test(line)) socket.write(`-ERR [AUTH] wrong password ${line.slice(5)} for you\r\n`);
        else if (/^QUIT/i.test(line)) socket.end("+OK\r\n");
        else socket.write(`-ERR unknown ${line}\r\n`);
      }
    });
  });
  // A token endpoint that refuses the client and quotes the secret it was sent.
  tokenServer = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => { body += c.toString("utf8"); });
    req.on("end", () => {
      const sent = new URLSearchParams(body).get("client_secret") ?? "";
      res.writeHead(401, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "invalid_client", error_description: `secret ${sent} (${encodeURIComponent(sent)}) is wrong` }));
    });
  });
  await new Promise<void>((resolve) => tokenServer.listen(0, "127.0.0.1", resolve));
  tokenUrl = `http://127.0.0.1:${(tokenServer.address() as AddressInfo).port}/token`;
  app = await startTestApp({ overrides: { log: createLogger({ level: "debug", sink: (line) => logs.push(line) }) } });
});

after(async () => {
  await app?.stop();
  await pop3?.close();
  await new Promise((resolve) => tokenServer?.close(resolve));
});

async function call(method: string, path: string, opts: Parameters<TestApp["call"]>[2] = {}): Promise<Awaited<ReturnType<TestApp["call"]>>> {
  const res = await app.call(method, path, opts);
  // The answer only: the request line carries ?code= keys on purpose.
  responses.push(`${res.status} ${[...res.headers].map(([k, v]) => `${k}: ${v}`).join("\n")}\n${res.text}`);
  return res;
}

async function runJob(path: string): Promise<void> {
  const started = await call("POST", path);
  assert.equal(started.status, 202, started.text);
  await waitFor(`job ${started.body.jobId}`, async () => {
    const job = await call("GET", `/api/jobs/${started.body.jobId}`);
    return job.body.status === "succeeded" || job.body.status === "failed" ? job.body : undefined;
  }, 60_000);
}

/** Every form a secret can take on the way out: as is, URL- and form-encoded, base64. */
const formsOf = (secret: string): string[] => [...new Set([
  secret, encodeURIComponent(secret), new URLSearchParams({ s: secret }).toString().slice(2),
  Buffer.from(secret).toString("base64").replace(/=+$/, ""),
])];

test("a flow with known secrets leaves none of them in logs, Storage, queues, alerts or responses", async () => {
  const smtpPort = await closedPort();
  const profile = await call("POST", "/api/profiles", {
    body: {
      name: "Hygiene", authenticateUsing: "profileCredentials",
      credentials: { userName: "svc", password: SECRETS.profilePassword },
      incoming: { host: "127.0.0.1", port: pop3.port, useSsl: false, authProtocol: "user" },
      outgoing: { host: "127.0.0.1", port: smtpPort, useSsl: false },
      allowCredentialsOverInsecureChannels: true, minPollingIntervalMinutes: 0,
    },
  });
  assert.equal(profile.status, 201, profile.text);
  const oauthProfile = await call("POST", "/api/profiles", {
    body: {
      name: "Hygiene OAuth",
      oauth: { tokenUrl, clientId: "app-1", clientSecret: SECRETS.clientSecret, scope: "https://outlook.office365.com/.default" },
      incoming: { host: "127.0.0.1", port: pop3.port, useSsl: false, authProtocol: "xoauth2" },
      outgoing: { host: "127.0.0.1", port: smtpPort, useSsl: false, authProtocol: "xoauth2" },
      allowCredentialsOverInsecureChannels: true, minPollingIntervalMinutes: 0,
    },
  });
  const mailbox = await call("POST", "/api/mailboxes", {
    body: { owner: { type: "queue", id: "q-hygiene" }, emailAddress: "hygiene@contoso.test", profileId: profile.body.id },
  });
  assert.equal(mailbox.status, 201, mailbox.text);
  const own = await call("POST", "/api/profiles", {
    body: { name: "Hygiene own", incoming: { host: "127.0.0.1", port: pop3.port, useSsl: false, authProtocol: "user" },
      outgoing: { host: "127.0.0.1", port: smtpPort, useSsl: false }, allowCredentialsOverInsecureChannels: true },
  });
  const ownMailbox = await call("POST", "/api/mailboxes", {
    body: { owner: { type: "user", id: "u-hygiene" }, emailAddress: "own@contoso.test", profileId: own.body.id,
      credentials: { userName: "own", password: SECRETS.mailboxPassword } },
  });
  assert.equal(ownMailbox.status, 201, ownMailbox.text);

  // Refused requests carrying secrets: validation, conflict, malformed JSON, a wrong key.
  await call("POST", "/api/mailboxes", { body: { owner: { type: "user", id: "u-hygiene" }, emailAddress: "dup@contoso.test", credentials: { userName: "x", password: SECRETS.mailboxPassword } } });
  await call("POST", "/api/profiles", { body: { name: "bad", incoming: { host: "127.0.0.1", port: 99999 }, credentials: { userName: "u", password: SECRETS.profilePassword } } });
  await call("PATCH", `/api/mailboxes/${ownMailbox.body.id}`, { rawBody: `{"credentials":{"password":"${SECRETS.newMailboxPassword}"`, headers: { "content-type": "application/json" } });
  await call("GET", `/api/profiles?code=${encodeURIComponent(SECRETS.masterKey)}x`, { key: null });
  await call("GET", `/api/profiles?code=${encodeURIComponent(SECRETS.adminKey)}`, { key: null });
  await call("PATCH", `/api/mailboxes/${ownMailbox.body.id}`, { body: { credentials: { userName: "own", password: SECRETS.newMailboxPassword } } });

  // Test & Enable against servers that quote the secrets back; then what an admin reads.
  await runJob(`/api/mailboxes/${mailbox.body.id}/test-and-enable`);
  await runJob(`/api/mailboxes/${ownMailbox.body.id}/test-and-enable`);
  if (oauthProfile.status === 201) await runJob(`/api/profiles/${oauthProfile.body.id}/test-and-enable`);
  for (const path of ["/api/profiles", "/api/mailboxes", `/api/mailboxes/${ownMailbox.body.id}`, "/api/alerts", "/api/settings", "/api/openapi.json"]) {
    await call("GET", path);
  }
  await call("GET", "/api/health", { key: MASTER_KEY });
  const alerts = await call("GET", "/api/alerts");
  assert.ok(alerts.body.items.length > 0, "the failed tests raised alerts (the servers' refusals were quoted somewhere)");

  // Everything the app left behind.
  const places: Array<[string, string]> = [["logs", logs.join("\n")], ["responses", responses.join("\n\n")]];
  for (const table of ALL_TABLES) {
    for await (const e of app.services.storage.table(table).listEntities()) places.push([`table ${table}`, JSON.stringify(e)]);
  }
  for (const container of ALL_CONTAINERS) {
    const client = app.services.storage.blobs.getContainerClient(container);
    for await (const b of client.listBlobsFlat()) places.push([`blob ${container}/${b.name}`, (await client.getBlobClient(b.name).downloadToBuffer()).toString("latin1")]);
  }
  for (const queue of ALL_QUEUES) {
    const peeked = await app.services.storage.queues.getQueueClient(queue).peekMessages({ numberOfMessages: 32 }).catch(() => undefined);
    for (const m of peeked?.peekedMessageItems ?? []) places.push([`queue ${queue}`, `${m.messageText}\n${Buffer.from(m.messageText, "base64").toString("latin1")}`]);
  }
  const hits: string[] = [];
  for (const [name, secret] of Object.entries(SECRETS)) {
    for (const form of formsOf(secret)) {
      for (const [where, text] of places) if (text.includes(form)) hits.push(`${name} (${form}) in ${where}`);
    }
  }
  assert.ok(logs.length > 0 && places.length > 10, `scanned ${places.length} places, ${logs.length} log lines`);
  assert.deepEqual(hits, [], hits.join("\n"));
});
