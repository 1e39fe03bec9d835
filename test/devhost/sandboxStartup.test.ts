/**
 * MAIL_SANDBOX in runStart: off starts no listener, on starts SMTP and POP3 on loopback (and SMTP
 * files mail by recipient, never relaying), a bad value stops start-up naming it.
 */
import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nodemailer from "nodemailer";
import { Pop3Session } from "../../shared/pop3/index.js";
import { freePort } from "../../shared/runtime/azurite.js";
import type { FunctionDefinition } from "../../shared/runtime/functionDefinitions.js";
import { runStart, StartupError } from "../../devhost/startup.js";

/** Storage that is not UseDevelopmentStorage=true, so no Azurite starts (and none is contacted). */
const OTHER_STORAGE = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;QueueEndpoint=http://127.0.0.1:9/devstoreaccount1;";
const health: FunctionDefinition = {
  kind: "http", name: "health", route: "health", methods: ["GET"],
  handler: () => Promise.resolve({ jsonBody: { status: "ok" } }),
};

const answers = (port: number): Promise<boolean> => new Promise((resolve) => {
  const s = net.connect(port, "127.0.0.1", () => { s.destroy(); resolve(true); });
  s.once("error", () => resolve(false));
});

describe("dev host: MAIL_SANDBOX", () => {
  let root: string;
  let printed: string[];
  let ports: { http: number; smtp: number; pop3: number };
  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), "devhost-sandbox-"));
    printed = [];
    ports = { http: await freePort(), smtp: await freePort(), pop3: await freePort() };
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const start = (sandbox: Record<string, string>) => runStart({
    root, argv: ["--devhost"], sandboxByDefault: true,
    env: {
      AzureWebJobsStorage: OTHER_STORAGE, PATH: "", PORT: String(ports.http), API_KEY: "sandbox-admin-key", API_MASTER_KEY: "sandbox-master-key",
      SANDBOX_SMTP_PORT: String(ports.smtp), SANDBOX_POP3_PORT: String(ports.pop3), SANDBOX_DATA_DIR: join(root, "data"), ...sandbox,
    },
    loadDefinitions: () => Promise.resolve([health]), print: (l) => printed.push(l), log: () => undefined,
  });

  it("MAIL_SANDBOX=off starts no listener and prints no sandbox", async () => {
    const started = await start({ MAIL_SANDBOX: "off" });
    try {
      assert.equal(await answers(ports.http), true, "the dev host itself is up");
      assert.equal(await answers(ports.smtp), false, "no SMTP listener");
      assert.equal(await answers(ports.pop3), false, "no POP3 listener");
      assert.ok(!printed.join("\n").includes("Mail sandbox"), printed.join("\n"));
    } finally {
      await started.stop();
    }
  });

  it("on: SMTP with STARTTLS and AUTH files mail for a sandbox address in its maildrop and the rest in the catch-all", async () => {
    const started = await start({ MAIL_SANDBOX: "on" });
    try {
      assert.equal(await answers(ports.pop3), true);
      const banner = printed.join("\n");
      assert.match(banner, /Mail sandbox/);
      // This process was not started with NODE_EXTRA_CA_CERTS naming the CA: no seed that could only fail.
      assert.match(banner, /Demo org not seeded: this process does not trust the sandbox CA/);
      const transport = nodemailer.createTransport({
        host: "127.0.0.1", port: ports.smtp, secure: false, requireTLS: true,
        tls: { ca: readFileSync(join(root, "data", "sandbox-ca.pem")) },
        auth: { user: "alice@sandbox.test", pass: "alice-sandbox-password" },
      });
      await transport.sendMail({ envelope: { from: "alice@sandbox.test", to: ["bob@sandbox.test", "someone@example.com"] }, raw: "Subject: hi\r\n\r\nhello\r\n" });
      const bad = nodemailer.createTransport({
        host: "127.0.0.1", port: ports.smtp, secure: false, requireTLS: true,
        tls: { ca: readFileSync(join(root, "data", "sandbox-ca.pem")) },
        auth: { user: "alice@sandbox.test", pass: "wrong" },
      });
      await assert.rejects(bad.sendMail({ envelope: { from: "alice@sandbox.test", to: ["bob@sandbox.test"] }, raw: "Subject: x\r\n\r\nx\r\n" }), /535/);
      // The bytes are checked in sandboxPop3.test.ts; here the counts say where each copy went.
      for (const [user, pass] of [["bob@sandbox.test", "bob-sandbox-password"], ["catch-all@sandbox.test", "catch-all-sandbox-password"]] as const) {
        const session = await Pop3Session.connect({ host: "127.0.0.1", port: ports.pop3, useSsl: false, userName: user, password: pass, ca: readFileSync(join(root, "data", "sandbox-ca.pem")) });
        assert.equal((await session.uidl()).length, 1, `${user} has the one message`);
        await session.quit();
      }
    } finally {
      await started.stop();
    }
    assert.equal(await answers(ports.smtp), false, "stop() closes the listeners");
  });

  it("a bad MAIL_SANDBOX or port stops start-up and names the setting", async () => {
    await assert.rejects(start({ MAIL_SANDBOX: "maybe", SANDBOX_SMTP_PORT: "70000" }), (err: unknown) => {
      assert.ok(err instanceof StartupError);
      assert.match(err.message, /MAIL_SANDBOX: must be on or off/);
      assert.match(err.message, /SANDBOX_SMTP_PORT: must be a port number/);
      return true;
    });
  });
});
