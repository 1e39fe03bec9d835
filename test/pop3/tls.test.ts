/**
 * @module TLS: implicit TLS and STLS, certificate verification (untrusted, expired), the STLS
 * injection defence, and the rule that credentials never travel in clear unless allowed.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Pop3Session } from "../../shared/pop3/index.js";
import { Pop3TestServer, type Pop3TestServerOptions } from "../support/pop3-server.js";
import { rejectsWithCode } from "../support/pop3-test-helpers.js";

const MESSAGES = ["Subject: one\r\n\r\n1\r\n", "Subject: two\r\n\r\n2\r\n"];

async function withServer(options: Partial<Pop3TestServerOptions>, run: (server: Pop3TestServer) => Promise<void>): Promise<void> {
  const server = await Pop3TestServer.start({ messages: MESSAGES, ...options });
  try {
    await run(server);
  } finally {
    await server.close();
  }
}

const credentialCommands = (server: Pop3TestServer): number =>
  ["USER", "PASS", "APOP", "AUTH"].reduce((n, verb) => n + server.count(verb), 0);

describe("implicit TLS", () => {
  it("connects and verifies the certificate against the given CA", () =>
    withServer({ implicitTls: true }, async (server) => {
      const session = await Pop3Session.connect(server.clientOptions());
      assert.equal(session.secure, true);
      assert.deepEqual(await session.stat(), { count: 2, size: MESSAGES.join("").length });
      await session.quit();
    }));

  it("rejects a self-signed certificate as TLS_CERTIFICATE_UNTRUSTED (permanent), before any credential", () =>
    withServer({ implicitTls: true, certificate: "untrusted" }, async (server) => {
      const err = await rejectsWithCode(Pop3Session.connect(server.clientOptions()), "TLS_CERTIFICATE_UNTRUSTED");
      assert.equal(err.transient, false);
      assert.equal(credentialCommands(server), 0);
    }));

  it("accepts the same certificate with allowUntrustedCertificates", () =>
    withServer({ implicitTls: true, certificate: "untrusted" }, async (server) => {
      const session = await Pop3Session.connect(server.clientOptions({ allowUntrustedCertificates: true }));
      assert.equal(session.secure, true);
      session.close();
    }));

  it("rejects an expired certificate signed by a trusted CA", () =>
    withServer({ implicitTls: true, certificate: "expired" }, async (server) => {
      const err = await rejectsWithCode(Pop3Session.connect(server.clientOptions()), "TLS_CERTIFICATE_UNTRUSTED");
      assert.match(err.message, /CERT_HAS_EXPIRED/);
    }));

  it("rejects a certificate when the system roots are all it has (no test CA)", () =>
    withServer({ implicitTls: true }, async (server) => {
      await rejectsWithCode(Pop3Session.connect(server.clientOptions({ ca: undefined })), "TLS_CERTIFICATE_UNTRUSTED");
    }));

  it("fails a TLS client against a plain-text server with TLS_HANDSHAKE_FAILED", () =>
    withServer({}, async (server) => {
      await rejectsWithCode(Pop3Session.connect(server.clientOptions({ useSsl: true, connectTimeoutMs: 2000 })), "TLS_HANDSHAKE_FAILED");
    }));
});

describe("STLS", () => {
  it("upgrades, re-issues CAPA over TLS, and sends every credential over TLS", () =>
    withServer({ stls: true }, async (server) => {
      const session = await Pop3Session.connect(server.clientOptions());
      assert.equal(session.secure, true);
      assert.equal(session.capabilities.stls, false, "capabilities must come from the CAPA sent over TLS");
      assert.deepEqual(server.stats.commands.filter((c) => !c.secure).map((c) => c.line), ["CAPA", "STLS"]);
      assert.equal(server.stats.credentialsInClear, false);
      await session.quit();
    }));

  it("discards bytes injected after '+OK Begin TLS' (RFC 2595 §4)", () =>
    withServer({ stls: true, injectAfterStls: "+OK fake\r\n-ERR [AUTH] injected\r\n+OK 99 99\r\n" }, async (server) => {
      const session = await Pop3Session.connect(server.clientOptions());
      assert.equal(session.secure, true);
      assert.deepEqual(await session.stat(), { count: 2, size: MESSAGES.join("").length });
      assert.deepEqual(await session.uidl(), [{ msgNo: 1, uid: "uid-1" }, { msgNo: 2, uid: "uid-2" }]);
      await session.quit();
    }));

  it("rejects an untrusted certificate after STLS before sending USER or PASS", () =>
    withServer({ stls: true, certificate: "untrusted" }, async (server) => {
      await rejectsWithCode(Pop3Session.connect(server.clientOptions()), "TLS_CERTIFICATE_UNTRUSTED");
      assert.equal(credentialCommands(server), 0);
      assert.equal(server.stats.credentialsInClear, false);
    }));
});

describe("credentials over a clear channel", () => {
  it("fails with TLS_REQUIRED and the server receives no credential", () =>
    withServer({ stls: false, saslPlain: true, apop: true }, async (server) => {
      const err = await rejectsWithCode(Pop3Session.connect(server.clientOptions()), "TLS_REQUIRED");
      assert.equal(err.transient, false);
      assert.equal(credentialCommands(server), 0);
      assert.equal(server.stats.credentialsInClear, false);
    }));

  it("logs in without TLS only when allowCredentialsOverInsecureChannels is set", () =>
    withServer({ stls: false }, async (server) => {
      const session = await Pop3Session.connect(server.clientOptions({ allowCredentialsOverInsecureChannels: true }));
      assert.equal(session.secure, false);
      assert.equal(session.mechanism, "user");
      await session.quit();
    }));
});
