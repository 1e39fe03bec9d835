/**
 * @module SASL XOAUTH2 login (Gmail, Microsoft 365): the initial-response and "+ " forms, the
 * error-challenge exchange on a refused token, and the rules around it: only by name, never over
 * clear text, never without a token, never when CAPA says the server lacks it, never in an error.
 */
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { describe, it } from "node:test";
import type { AppError } from "../../shared/errors.js";
import { Pop3Session, type Pop3ConnectOptions } from "../../shared/pop3/index.js";
import { parseCapabilities } from "../../shared/pop3/commands/capa.js";
import { xoauth2ErrorStatus, xoauth2Response } from "../../shared/pop3/commands/auth-xoauth2.js";
import { Pop3TestServer, type Pop3TestServerOptions } from "../support/pop3-server.js";
import { rejectsWithCode } from "../support/pop3-test-helpers.js";

const SHORT_TOKEN = "ya29.short-test-token";
/** About the size of a Microsoft Entra access token (a JWT): far past 255 octets. */
const LONG_TOKEN = `eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.${"x".repeat(1900)}.${"s".repeat(62)}`;

async function withServer(options: Partial<Pop3TestServerOptions>, run: (server: Pop3TestServer) => Promise<void>): Promise<void> {
  const server = await Pop3TestServer.start({ messages: ["a\r\n"], implicitTls: true, accessToken: SHORT_TOKEN, ...options });
  try {
    await run(server);
  } finally {
    await server.close();
  }
}

/** An OAuth profile: the token instead of a password. */
const xoauth2 = (overrides: Partial<Pop3ConnectOptions> = {}): Partial<Pop3ConnectOptions> => ({ authProtocol: "xoauth2", password: "", ...overrides });

async function login(server: Pop3TestServer, overrides: Partial<Pop3ConnectOptions>): Promise<Pop3Session> {
  const session = await Pop3Session.connect(server.clientOptions(overrides));
  assert.deepEqual(await session.stat(), { count: 1, size: 3 });
  return session;
}

function assertNoSecret(err: AppError, ...secrets: string[]): void {
  const dump = [err.message, err.stack, err.command, err.response, inspect(err, { depth: 5 }), JSON.stringify(err)].join("\n");
  for (const secret of secrets) assert.ok(!dump.includes(secret), "the error mentions a secret");
}

/** The command lines from the first AUTH on. */
function fromAuth(server: Pop3TestServer): string[] {
  const lines = server.stats.commands.map((c) => c.line);
  const at = lines.findIndex((line) => line.startsWith("AUTH"));
  return at === -1 ? [] : lines.slice(at);
}

describe("SASL XOAUTH2", () => {
  it("logs in with a short token as an initial response", () =>
    withServer({}, async (server) => {
      const session = await login(server, xoauth2());
      assert.equal(session.mechanism, "xoauth2");
      assert.deepEqual(fromAuth(server).slice(0, 1), [`AUTH XOAUTH2 ${xoauth2Response("alice", SHORT_TOKEN)}`]);
      session.close();
    }));

  it("sends a 2,000-character token after the '+ ' challenge, since it cannot fit 255 octets", () =>
    withServer({ accessToken: LONG_TOKEN }, async (server) => {
      assert.ok(LONG_TOKEN.length >= 2000);
      const session = await login(server, xoauth2());
      assert.equal(session.mechanism, "xoauth2");
      assert.deepEqual(fromAuth(server).slice(0, 2), ["AUTH XOAUTH2", xoauth2Response("alice", LONG_TOKEN)]);
      session.close();
    }));

  for (const [form, token] of [["initial response", "wrong-token"], ["continuation", `wrong-${LONG_TOKEN}`]] as const) {
    it(`a refused token (${form}) is AUTH_FAILED after the error challenge is acknowledged, and never in the error`, () =>
      withServer({ accessToken: form === "initial response" ? SHORT_TOKEN : LONG_TOKEN }, async (server) => {
        const err = await rejectsWithCode(login(server, xoauth2({ accessToken: token })), "AUTH_FAILED");
        assert.equal(err.command, "AUTH XOAUTH2");
        assert.equal(err.response, "-ERR [AUTH] Authentication failed.");
        assert.match(err.message, /status: 401/);
        assert.equal(server.stats.commands.at(-1)?.line, "", "the error challenge is answered with an empty line");
        assertNoSecret(err, token, xoauth2Response("alice", token));
      }));
  }

  it("auto never picks XOAUTH2, even when offered and a token is given", () =>
    withServer({ saslPlain: false }, async (server) => {
      const session = await login(server, { accessToken: SHORT_TOKEN });
      assert.equal(session.mechanism, "user");
      assert.equal(server.count("AUTH"), 0);
      session.close();
    }));

  it("auto fails rather than use XOAUTH2 when it is the only mechanism offered", () =>
    withServer({ user: false }, async (server) => {
      await rejectsWithCode(login(server, {}), "AUTH_MECHANISM_UNSUPPORTED");
      assert.equal(server.count("AUTH"), 0);
    }));

  it("is tried by name when the server has no CAPA", () =>
    withServer({ capa: false }, async (server) => {
      const session = await login(server, xoauth2());
      assert.equal(session.mechanism, "xoauth2");
      session.close();
    }));

  it("without an access token is CREDENTIALS_MISSING, before any connection", () =>
    withServer({}, async (server) => {
      await rejectsWithCode(login(server, xoauth2({ accessToken: undefined })), "CREDENTIALS_MISSING");
      await rejectsWithCode(login(server, xoauth2({ accessToken: "" })), "CREDENTIALS_MISSING");
      assert.equal(server.stats.connections, 0);
    }));

  it("is TLS_REQUIRED over a clear channel unless allowed, and the token never leaves", () =>
    withServer({ implicitTls: false }, async (server) => {
      await rejectsWithCode(login(server, xoauth2()), "TLS_REQUIRED");
      assert.equal(server.count("AUTH"), 0);
      const session = await login(server, xoauth2({ allowCredentialsOverInsecureChannels: true }));
      assert.equal(session.mechanism, "xoauth2");
      session.close();
    }));

  it("is AUTH_MECHANISM_UNSUPPORTED when CAPA lists SASL without XOAUTH2", () =>
    withServer({ accessToken: undefined, saslPlain: true }, async (server) => {
      const err = await rejectsWithCode(login(server, xoauth2({ accessToken: SHORT_TOKEN })), "AUTH_MECHANISM_UNSUPPORTED");
      assert.match(err.message, /XOAUTH2.*SASL: PLAIN/);
      assert.equal(server.count("AUTH"), 0);
    }));

  it("refuses a token with a control character (it would forge an XOAUTH2 field)", () =>
    withServer({}, async (server) => {
      await rejectsWithCode(login(server, xoauth2({ accessToken: `${SHORT_TOKEN}\x01auth=x` })), "AUTH_FAILED");
      assert.equal(server.count("AUTH"), 0);
    }));

  it("reads Microsoft 365's 'SASL PLAIN XOAUTH2' CAPA line and the JSON error status", () => {
    assert.deepEqual(parseCapabilities(["USER", "SASL PLAIN XOAUTH2"]).sasl, ["PLAIN", "XOAUTH2"]);
    const challenge = (json: string): string => Buffer.from(json).toString("base64");
    assert.equal(xoauth2ErrorStatus(challenge('{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}')), "401");
    assert.equal(xoauth2ErrorStatus(challenge('{"status":"a long\\r\\nline"}')), undefined);
    assert.equal(xoauth2ErrorStatus("not base64 json"), undefined);
  });
});
