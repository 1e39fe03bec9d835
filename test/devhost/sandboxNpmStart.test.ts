/**
 * The README's quick start, end to end: `npm start` exactly as a newcomer runs it (fresh sandbox
 * data folder, real ports chosen through the environment), then alice sends to bob through the
 * sandbox's SMTP and bob's mailbox has the message after a scheduler tick or so, byte for byte as
 * the sandbox's POP3 holds it; an outside reply injected with POST /api/sandbox/messages is
 * correlated to alice's email by its tracking token; a bad injection is a 400 naming each field.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Pop3Session } from "../../shared/pop3/index.js";
import { freePort } from "../../shared/runtime/azurite.js";
import { readAll } from "../support/pop3-test-helpers.js";
import { waitFor } from "../support/waitFor.js";

const KEY = "local-admin-key";
const PERIOD_S = 5;

interface Email { id: string; mailboxId: string; direction: string; status: string; trackingToken: string | null; subject: string; correlatedEmailId: string | null; correlationMethod: string; receivedByMailboxIds: string[] }

describe("npm start with the mail sandbox (README quick start)", () => {
  let dataDir: string;
  let child: ChildProcess;
  let output = "";
  let api: string;
  let ids: { alice: string; bob: string };
  let pop3Port: number;

  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown; bytes: Buffer }> => {
    const res = await fetch(`${api}/${path}`, {
      method, headers: { "x-functions-key": KEY, ...(body ? { "content-type": "application/json" } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const bytes = Buffer.from(await res.arrayBuffer());
    const isJson = res.headers.get("content-type")?.includes("json") ?? false;
    return { status: res.status, json: isJson ? JSON.parse(bytes.toString("utf8")) : undefined, bytes };
  };

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "sandbox-npm-start-"));
    const port = await freePort();
    api = `http://127.0.0.1:${port}/api`;
    child = spawn("npm", ["start", "--", "--devhost"], {
      cwd: process.cwd(), detached: true, stdio: ["ignore", "pipe", "pipe"],
      env: {
        // The keys too: a local.settings.json left with other keys must not decide what this test sends.
        ...process.env, PORT: String(port), LOG_LEVEL: "warn", API_KEY: KEY, API_MASTER_KEY: "local-master-key",
        AZURITE_BLOB_PORT: String(await freePort()), AZURITE_QUEUE_PORT: String(await freePort()), AZURITE_TABLE_PORT: String(await freePort()),
        SANDBOX_SMTP_PORT: "0", SANDBOX_POP3_PORT: "0", SANDBOX_DATA_DIR: dataDir, MAIL_SANDBOX: "",
        SCHEDULER_SCHEDULE: `*/${PERIOD_S} * * * * *`, NODE_EXTRA_CA_CERTS: "", EMAIL_SYNC_SANDBOX_CA: "",
      },
    });
    child.stdout?.on("data", (c: Buffer) => { output += c.toString("utf8"); });
    child.stderr?.on("data", (c: Buffer) => { output += c.toString("utf8"); });
    const seeded = await waitFor("the demo org banner", () => {
      if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}:\n${output}`);
      return Promise.resolve(/mailboxes alice (\S+), bob (\S+), support/.exec(output) ?? (/Demo org not seeded.*/.exec(output) ? null : undefined));
    }, 170_000, 500);
    assert.ok(seeded, `the demo org was not seeded:\n${output}`);
    ids = { alice: seeded[1] as string, bob: seeded[2] as string };
    pop3Port = Number(/POP3 {2}127\.0\.0\.1:(\d+)/.exec(output)?.[1]);
  });

  after(async () => {
    if (child.pid !== undefined && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      process.kill(-child.pid, "SIGTERM");
      await exited;
    }
    await waitFor("the dev host to stop", async () => (await fetch(`${api}/health`).then(() => undefined, () => true)), 30_000);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("generated the certificate in the fresh data folder and printed a curl command from alice to bob", () => {
    assert.match(output, /Generated the mail sandbox's certificate and CA in /);
    assert.match(output, new RegExp(`curl -s -X POST \\S+/emails .*\\n.*"mailboxId": "${ids.alice}", "to": \\["bob@sandbox.test"\\]`));
  });

  let sent: Email;
  it("POST /api/emails from alice to bob: bob's mailbox has it within a scheduler period or two, as POP3 holds it", async () => {
    const created = await call("POST", "emails", { mailboxId: ids.alice, to: ["bob@sandbox.test"], subject: "Hello Bob", text: "Sent through the sandbox.\n.a line with a dot\ncafé" });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const email = created.json as Email;
    const startedAt = Date.now();
    sent = await waitFor("bob's mailbox to receive alice's email", async () => {
      const list = (await call("GET", `emails?mailboxId=${ids.bob}`)).json as { items: Email[] };
      return list.items.find((e) => e.id === email.id && e.receivedByMailboxIds.includes(ids.bob));
    }, 60_000, 250);
    const seconds = (Date.now() - startedAt) / 1000;
    // Sending waits for a tick, and so does bob's poll: two periods plus the work itself.
    assert.ok(seconds < 2 * PERIOD_S + 10, `took ${seconds} s`);
    assert.equal(sent.status, "sent");
    assert.match(sent.subject, /^Hello Bob CRM:\d+$/);
    const raw = await call("GET", `emails/${sent.id}/raw`);
    assert.equal(raw.status, 200);
    const session = await Pop3Session.connect({
      host: "127.0.0.1", port: pop3Port, useSsl: false, userName: "bob@sandbox.test", password: "bob-sandbox-password",
      ca: readFileSync(join(dataDir, "sandbox-ca.pem")),
    });
    const inMaildrop = await readAll(await session.retrieve(1));
    await session.quit();
    assert.ok(inMaildrop.equals(raw.bytes), "the activity's /raw is the message bob's maildrop holds");
  });

  it("an outside reply injected into alice's maildrop is correlated to her email by its tracking token", async () => {
    const reply = Buffer.from(`From: Carol <carol@example.com>\r\nTo: alice@sandbox.test\r\nSubject: Re: ${sent.subject}\r\nMessage-ID: <reply-${Date.now()}@example.com>\r\n\r\nThanks!\r\n`);
    const injected = await call("POST", "sandbox/messages", { to: "alice@sandbox.test", rawBase64: reply.toString("base64") });
    assert.equal(injected.status, 201, JSON.stringify(injected.json));
    assert.equal((injected.json as { maildrop: string }).maildrop, "alice@sandbox.test");
    const incoming = await waitFor("alice's incoming reply", async () => {
      const list = (await call("GET", `emails?mailboxId=${ids.alice}&direction=incoming`)).json as { items: Email[] };
      return list.items[0];
    }, 60_000, 250);
    assert.equal(incoming.correlationMethod, "trackingToken");
    assert.equal(incoming.correlatedEmailId, sent.id);
    assert.equal(incoming.trackingToken, sent.trackingToken);
  });

  it("a bad injection is a 400 VALIDATION_FAILED naming each field; no key is a 401", async () => {
    const bad = await call("POST", "sandbox/messages", { to: "not an address", rawBase64: "%%%", extra: 1 });
    assert.equal(bad.status, 400);
    const error = (bad.json as { error: { code: string; details: Array<{ path: string }> } }).error;
    assert.equal(error.code, "VALIDATION_FAILED");
    assert.deepEqual([...new Set(error.details.map((d) => d.path))].sort(), ["extra", "rawBase64", "to"]);
    const anonymous = await fetch(`${api}/sandbox/messages`, { method: "POST", body: "{}" });
    assert.equal(anonymous.status, 401);
  });
});
