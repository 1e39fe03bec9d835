/**
 * @module Logging in on behalf of another user: SASL PLAIN with an authorization identity
 * (RFC 4616) and the master-user login name "<user>*<master>", against the test server's master
 * user, which maps each form to that user's own maildrop.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Pop3Session, type Pop3ConnectOptions } from "../../shared/pop3/index.js";
import { Pop3TestServer, type Pop3TestServerOptions } from "../support/pop3-server.js";
import { rejectsWithCode } from "../support/pop3-test-helpers.js";

const MASTER = { userName: "svc", password: "master-Pa55", separator: "*" };

async function withServer(options: Partial<Pop3TestServerOptions>, run: (server: Pop3TestServer) => Promise<void>): Promise<void> {
  const server = await Pop3TestServer.start({
    messages: ["own\r\n"], implicitTls: true, saslPlain: true, master: MASTER,
    users: { "frank@contoso.test": ["frank-1\r\n", "frank-2\r\n"], grace: ["grace-1\r\n"] }, ...options,
  });
  try {
    await run(server);
  } finally {
    await server.close();
  }
}

async function countAs(server: Pop3TestServer, o: Partial<Pop3ConnectOptions>): Promise<{ count: number; mechanism: string }> {
  const session = await Pop3Session.connect(server.clientOptions({ userName: MASTER.userName, password: MASTER.password, ...o }));
  try {
    return { count: (await session.stat()).count, mechanism: session.mechanism };
  } finally {
    session.close();
  }
}

describe("delegated POP3 logins", () => {
  it("SASL PLAIN with an authzid opens that user's maildrop, and only with the master password", () =>
    withServer({}, async (server) => {
      assert.deepEqual(await countAs(server, { authorizationId: "frank@contoso.test" }), { count: 2, mechanism: "saslPlain" });
      assert.deepEqual(await countAs(server, { authorizationId: "grace" }), { count: 1, mechanism: "saslPlain" });
      const blob = server.stats.commands.filter((c) => c.line.startsWith("AUTH PLAIN ")).map((c) => Buffer.from(c.line.slice(11), "base64").toString());
      assert.deepEqual(blob, [`frank@contoso.test\0svc\0${MASTER.password}`, `grace\0svc\0${MASTER.password}`]);
      await rejectsWithCode(countAs(server, { authorizationId: "grace", password: "wrong" }), "AUTH_FAILED");
      await rejectsWithCode(countAs(server, { authorizationId: "nobody" }), "AUTH_FAILED");
    }));

  it("auto and saslPlain both use SASL PLAIN with an authzid, never USER/PASS", () =>
    withServer({ apop: true }, async (server) => {
      assert.equal((await countAs(server, { authProtocol: "auto", authorizationId: "grace", allowCredentialsOverInsecureChannels: true })).mechanism, "saslPlain");
      assert.equal((await countAs(server, { authProtocol: "saslPlain", authorizationId: "grace" })).mechanism, "saslPlain");
      assert.equal(server.count("USER") + server.count("APOP"), 0);
    }));

  it("a server without SASL PLAIN fails with DELEGATION_UNSUPPORTED before any credential is sent", () =>
    withServer({ saslPlain: false }, async (server) => {
      const err = await rejectsWithCode(countAs(server, { authorizationId: "grace" }), "DELEGATION_UNSUPPORTED");
      assert.equal(err.transient, false);
      assert.match(err.message, /SASL PLAIN/);
      assert.ok(!err.message.includes(MASTER.password));
      assert.equal(server.count("USER") + server.count("PASS") + server.count("AUTH"), 0, "fell back to another login");
    }));

  it("an authzid with a mechanism other than SASL PLAIN is refused before connecting", async () => {
    await rejectsWithCode(Pop3Session.connect({ host: "127.0.0.1", port: 1, useSsl: true, userName: "svc", password: "x", authProtocol: "user", authorizationId: "grace" }), "DELEGATION_UNSUPPORTED");
  });

  it("the separator form logs in with USER/PASS and as the SASL PLAIN authcid", () =>
    withServer({}, async (server) => {
      assert.deepEqual(await countAs(server, { authProtocol: "user", userName: "frank@contoso.test*svc" }), { count: 2, mechanism: "user" });
      assert.deepEqual(await countAs(server, { authProtocol: "saslPlain", userName: "grace*svc" }), { count: 1, mechanism: "saslPlain" });
      assert.ok(server.stats.commands.some((c) => c.line === "USER frank@contoso.test*svc"));
      await rejectsWithCode(countAs(server, { authProtocol: "user", userName: "grace*svc", password: "wrong" }), "AUTH_FAILED");
    }));

  it("each maildrop keeps its own deletions", () =>
    withServer({}, async (server) => {
      const session = await Pop3Session.connect(server.clientOptions({ userName: "svc", password: MASTER.password, authorizationId: "grace" }));
      await session.dele(1);
      await session.quit();
      assert.equal(server.maildropOf("grace").length, 0);
      assert.equal(server.maildropOf("frank@contoso.test").length, 2);
      assert.equal(server.maildrop.length, 1);
    }));
});
