/**
 * @module Login mechanisms (USER/PASS, APOP, SASL PLAIN), how `auto` picks one, and how login
 * failures map to error codes (RFC 3206), without a secret ever reaching an error.
 */
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { describe, it } from "node:test";
import type { AppError, ErrorCode } from "../../shared/errors.js";
import { Pop3Session, type Pop3ConnectOptions } from "../../shared/pop3/index.js";
import { apopDigest } from "../../shared/pop3/commands/apop.js";
import { startRawServer } from "../support/pop3-raw-server.js";
import { Pop3TestServer, type Pop3TestServerOptions } from "../support/pop3-server.js";
import { rejectsWithCode } from "../support/pop3-test-helpers.js";

async function withServer(options: Partial<Pop3TestServerOptions>, run: (server: Pop3TestServer) => Promise<void>): Promise<void> {
  const server = await Pop3TestServer.start({ messages: ["a\r\n"], implicitTls: true, ...options });
  try {
    await run(server);
  } finally {
    await server.close();
  }
}

async function login(server: Pop3TestServer, overrides: Partial<Pop3ConnectOptions> = {}): Promise<Pop3Session> {
  const session = await Pop3Session.connect(server.clientOptions(overrides));
  assert.deepEqual(await session.stat(), { count: 1, size: 3 });
  return session;
}

/** Every way an error could end up in a log: message, stack, fields, cause, inspect. */
function assertNoSecret(err: AppError, ...secrets: string[]): void {
  const dump = [err.message, err.stack, err.command, err.response, inspect(err, { depth: 5 }), JSON.stringify(err)].join("\n");
  for (const secret of secrets) assert.ok(!dump.includes(secret), `the error mentions a secret: ${secret}`);
}

describe("login mechanisms", () => {
  it("USER/PASS", () =>
    withServer({}, async (server) => {
      const session = await login(server);
      assert.equal(session.mechanism, "user");
      session.close();
    }));

  it("SASL PLAIN with an initial response (RFC 5034), preferred by auto over TLS", () =>
    withServer({ saslPlain: true, apop: true }, async (server) => {
      const session = await login(server);
      assert.equal(session.mechanism, "saslPlain");
      assert.equal(server.count("AUTH"), 1);
      assert.equal(server.count("PASS"), 0);
      session.close();
    }));

  it("SASL PLAIN after a '+ ' challenge when the initial response would pass 255 octets", () =>
    withServer({ saslPlain: true, password: "p".repeat(200) }, async (server) => {
      const session = await login(server);
      const auth = server.stats.commands.find((c) => c.line.startsWith("AUTH"));
      assert.equal(auth?.line, "AUTH PLAIN");
      session.close();
    }));

  it("APOP with MD5(timestamp + password), chosen by auto when nothing else is offered", () =>
    withServer({ apop: true, user: false }, async (server) => {
      const session = await login(server);
      assert.equal(session.mechanism, "apop");
      const apop = server.stats.commands.find((c) => c.line.startsWith("APOP"));
      assert.equal(apop?.line, `APOP alice ${apopDigest(server.options.apopTimestamp, server.options.password)}`);
      session.close();
    }));

  it("auto prefers APOP on an allowed clear channel (the password never crosses the wire)", () =>
    withServer({ implicitTls: false, apop: true, saslPlain: true }, async (server) => {
      const session = await login(server, { allowCredentialsOverInsecureChannels: true });
      assert.equal(session.mechanism, "apop");
      assert.equal(server.stats.commands.some((c) => c.line.includes(server.options.password)), false);
      session.close();
    }));

  it("honours an explicit authProtocol", () =>
    withServer({ saslPlain: true, apop: true }, async (server) => {
      for (const authProtocol of ["user", "apop", "saslPlain"] as const) {
        const session = await login(server, { authProtocol });
        assert.equal(session.mechanism, authProtocol);
        session.close();
      }
    }));

  it("uses USER/PASS with a server that has no CAPA (RFC 1939 only)", () =>
    withServer({ capa: false }, async (server) => {
      const session = await login(server);
      assert.equal(session.capabilities.known, false);
      assert.equal(session.mechanism, "user");
      session.close();
    }));

  it("fails with AUTH_MECHANISM_UNSUPPORTED when the asked-for mechanism is not offered", () =>
    withServer({}, async (server) => {
      await rejectsWithCode(login(server, { authProtocol: "apop" }), "AUTH_MECHANISM_UNSUPPORTED");
      await rejectsWithCode(login(server, { authProtocol: "saslPlain" }), "AUTH_MECHANISM_UNSUPPORTED");
    }));

  it("refuses a user name or password with a line break (command injection)", () =>
    withServer({}, async (server) => {
      await rejectsWithCode(login(server, { password: "x\r\nDELE 1" }), "AUTH_FAILED");
      assert.equal(server.count("DELE"), 0);
    }));
});

describe("login failures", () => {
  const cases: { reply: string; code: ErrorCode; transient: boolean }[] = [
    { reply: "-ERR [IN-USE] Maildrop is locked by another session", code: "SERVER_BUSY", transient: true },
    { reply: "-ERR [LOGIN-DELAY] Wait 5 minutes between logins", code: "SERVER_BUSY", transient: true },
    { reply: "-ERR [SYS/TEMP] Storage is temporarily unavailable", code: "SERVER_BUSY", transient: true },
    { reply: "-ERR [SYS/PERM] Mailbox is corrupt", code: "SERVER_ERROR", transient: false },
    { reply: "-ERR [AUTH] Invalid credentials", code: "AUTH_FAILED", transient: false },
    { reply: "-ERR Login failed", code: "AUTH_FAILED", transient: false },
  ];
  for (const { reply, code, transient } of cases) {
    it(`${reply} -> ${code}`, () =>
      withServer({ loginError: reply, saslPlain: true }, async (server) => {
        for (const authProtocol of ["user", "saslPlain"] as const) {
          const err = await rejectsWithCode(login(server, { authProtocol }), code);
          assert.equal(err.transient, transient);
          assert.equal(err.response, reply);
          assert.equal(err.command, authProtocol === "user" ? "PASS" : "AUTH PLAIN");
          assertNoSecret(err, server.options.password, Buffer.from(`\0alice\0${server.options.password}`).toString("base64"));
        }
      }));
  }

  it("a wrong password is AUTH_FAILED, and the password is in no error field", () =>
    withServer({}, async (server) => {
      const wrong = "Wr0ng-Passw0rd!";
      const err = await rejectsWithCode(login(server, { password: wrong }), "AUTH_FAILED");
      assert.equal(err.command, "PASS");
      assert.match(err.response ?? "", /\[AUTH\]/);
      assertNoSecret(err, wrong);
    }));

  it("a greeting '-ERR' is SERVER_BUSY", async () => {
    const raw = await startRawServer((socket) => socket.end("-ERR [SYS/TEMP] Too many connections\r\n"));
    try {
      const err = await rejectsWithCode(
        Pop3Session.connect({ host: "127.0.0.1", port: raw.port, useSsl: false, userName: "a", password: "b" }),
        "SERVER_BUSY",
      );
      assert.equal(err.command, "(greeting)");
    } finally {
      await raw.close();
    }
  });
});
