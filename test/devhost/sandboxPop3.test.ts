/**
 * The sandbox's POP3 server against our own client and against one we did not write (Python's
 * poplib): every tricky message (dot lines, the end marker inside, 8-bit bytes, NUL, bare CR/LF)
 * comes back byte for byte as the store holds it; logins, STLS, DELE/QUIT semantics; loopback only.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { Pop3Session } from "../../shared/pop3/index.js";
import { startSandbox, SANDBOX_USERS, type Sandbox } from "../../devhost/sandbox/sandbox.js";
import { toCrlfLines } from "../../devhost/sandbox/mailStore.js";
import { readAll, rejectsWithCode, TRICKY_MESSAGES } from "../support/pop3-test-helpers.js";

const names = Object.keys(TRICKY_MESSAGES);
const bob = SANDBOX_USERS.bob;

describe("mail sandbox: POP3", () => {
  let dir: string;
  let sandbox: Sandbox;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "sandbox-pop3-"));
    sandbox = await startSandbox({ enabled: true, smtpPort: 0, pop3Port: 0, dataDir: dir });
    for (const name of names) {
      const r = sandbox.store.deliver(bob.address, TRICKY_MESSAGES[name] as Buffer);
      assert.ok(r.ok);
    }
  });
  after(async () => {
    await sandbox.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const connect = (extra: Partial<Parameters<typeof Pop3Session.connect>[0]> = {}): Promise<Pop3Session> =>
    Pop3Session.connect({ host: "127.0.0.1", port: sandbox.pop3Port, useSsl: false, userName: bob.address, password: bob.password, ca: sandbox.ca, ...extra });

  it("gives our client every message byte for byte after STLS, with USER/PASS and with SASL PLAIN", async () => {
    for (const authProtocol of ["user", "saslPlain"] as const) {
      const session = await connect({ authProtocol });
      try {
        const uidl = await session.uidl();
        assert.equal(uidl.length, names.length);
        for (const [i, name] of names.entries()) {
          const got = await readAll(await session.retrieve(i + 1));
          assert.deepEqual(got, toCrlfLines(TRICKY_MESSAGES[name] as Buffer), `${name} via ${authProtocol}`);
        }
      } finally {
        await session.quit();
      }
    }
  });

  it("gives Python's poplib the same bytes (a client we did not write)", async (t) => {
    const python = spawnSync("python3", ["-c", "import poplib, ssl"], { encoding: "utf8" });
    if (python.status !== 0) return t.skip("python3 with poplib and ssl is not on this machine: the poplib check is skipped");
    const script = [
      "import poplib, ssl, sys, json",
      "ctx = ssl.create_default_context(cafile=sys.argv[2])",
      "p = poplib.POP3('127.0.0.1', int(sys.argv[1]))",
      "p.stls(context=ctx)",
      "p.user(sys.argv[3]); p.pass_(sys.argv[4])",
      "out = []",
      "for i in range(1, len(p.list()[1]) + 1):",
      "    lines = p.retr(i)[1]",
      "    out.append((b''.join(l + b'\\r\\n' for l in lines)).hex())",
      "p.quit()",
      "print(json.dumps(out))",
    ].join("\n");
    // Asynchronously: the server answering poplib runs in this very process.
    const { stdout } = await promisify(execFile)("python3", ["-c", script, String(sandbox.pop3Port), sandbox.caPath, bob.address, bob.password], { encoding: "utf8", timeout: 30_000 });
    const got = JSON.parse(stdout) as string[];
    assert.equal(got.length, names.length);
    for (const [i, name] of names.entries()) {
      assert.equal(got[i], toCrlfLines(TRICKY_MESSAGES[name] as Buffer).toString("hex"), name);
    }
  });

  it("refuses a wrong password with AUTH_FAILED", async () => {
    await rejectsWithCode(connect({ password: "wrong-password" }), "AUTH_FAILED");
  });

  it("deletes only at QUIT: a dropped session keeps its DELEs undone", async () => {
    const support = SANDBOX_USERS.support;
    sandbox.store.deliver(support.address, Buffer.from("Subject: one\r\n\r\n1\r\n"));
    sandbox.store.deliver(support.address, Buffer.from("Subject: two\r\n\r\n2\r\n"));
    const login = { userName: support.address, password: support.password };
    const dropped = await connect(login);
    await dropped.dele(1);
    dropped.close();
    await new Promise((r) => setTimeout(r, 100));
    const quitting = await connect(login);
    assert.equal((await quitting.uidl()).length, 2, "the dropped session's DELE was not applied");
    await quitting.dele(1);
    await quitting.quit();
    const after = await connect(login);
    const left = await readAll(await after.retrieve(1));
    await after.quit();
    assert.equal(left.toString(), "Subject: two\r\n\r\n2\r\n");
  });

  it("listens on loopback only", async (t) => {
    const external = Object.values(networkInterfaces()).flat().find((a) => a && !a.internal && a.family === "IPv4");
    for (const port of [sandbox.pop3Port, sandbox.smtpPort]) {
      const local = await new Promise<boolean>((resolve) => {
        const s = net.connect(port, "127.0.0.1", () => { s.destroy(); resolve(true); });
        s.once("error", () => resolve(false));
      });
      assert.ok(local, `port ${port} answers on 127.0.0.1`);
      if (!external) continue;
      const code = await new Promise<string>((resolve) => {
        const s = net.connect(port, external.address, () => { s.destroy(); resolve("connected"); });
        s.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? "error"));
      });
      assert.equal(code, "ECONNREFUSED", `port ${port} must not answer on ${external.address}`);
    }
    if (!external) t.diagnostic("no non-loopback IPv4 interface here: only the loopback side was checked");
  });
});

describe("mail sandbox: POP3 STLS", () => {
  it("discards commands pipelined before the TLS handshake (they are not run inside the protected session)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sandbox-stls-"));
    const sandbox = await startSandbox({ enabled: true, smtpPort: 0, pop3Port: 0, dataDir: dir });
    try {
      const plain = net.connect(sandbox.pop3Port, "127.0.0.1");
      const read = (socket: net.Socket): Promise<string> => new Promise((resolve) => socket.once("data", (c: Buffer) => resolve(c.toString("latin1"))));
      assert.match(await read(plain), /^\+OK/);
      // USER/PASS written in the same packet as STLS: an attacker in the path could add them.
      const okStls = read(plain);
      plain.write(`STLS\r\nUSER ${bob.address}\r\nPASS ${bob.password}\r\n`);
      assert.match(await okStls, /^\+OK begin TLS/);
      const secure = tls.connect({ socket: plain, ca: sandbox.ca, servername: "localhost" });
      await new Promise<void>((resolve, reject) => { secure.once("secureConnect", resolve); secure.once("error", reject); });
      const reply = read(secure);
      secure.write("STAT\r\n");
      assert.match(await reply, /^-ERR not logged in/, "the pipelined login did not count");
      secure.destroy();
    } finally {
      await sandbox.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
