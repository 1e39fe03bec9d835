import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { OAuthTokenSource, type OAuthClient } from "../../shared/oauth/tokenSource.js";
import { ManualClock } from "../../shared/runtime/clock.js";
import { isAppError } from "../../shared/errors.js";
import { OAuthTokenServer } from "../support/oauth-token-server.js";

const SECRET = "client-secret-Zq9";
let server: OAuthTokenServer;
let client: OAuthClient;
before(async () => {
  server = await OAuthTokenServer.start({ clientId: "app-1", clientSecret: SECRET, scope: "https://outlook.office365.com/.default", lifetimeS: 3600 });
  client = { tokenUrl: server.url, clientId: "app-1", clientSecret: SECRET, scope: "https://outlook.office365.com/.default" };
});
after(async () => { await server?.close(); });

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string; transient: boolean }> {
  try {
    await p;
  } catch (err) {
    assert.ok(isAppError(err), String(err));
    return err;
  }
  throw new Error("expected a failure");
}

test("one token request serves many logins, concurrent ones included, until shortly before expiry", async () => {
  const clock = new ManualClock();
  const source = new OAuthTokenSource(clock);
  const before = server.requests;
  const tokens = await Promise.all(Array.from({ length: 20 }, () => source.token(client)));
  assert.equal(new Set(tokens).size, 1);
  assert.equal(await source.token(client), tokens[0]);
  assert.equal(server.requests - before, 1, "twenty concurrent logins and one more cost one token request");
  clock.advance(58 * 60_000);
  assert.equal(await source.token(client), tokens[0], "58 minutes into a 60-minute token it is still used");
  clock.advance(60_000);
  const renewed = await source.token(client);
  assert.notEqual(renewed, tokens[0], "in its last minute it is replaced");
  assert.equal(server.requests - before, 2);
});

test("fresh means got within the last minute; a new secret never reuses the old secret's token", async () => {
  const clock = new ManualClock();
  const source = new OAuthTokenSource(clock);
  const first = await source.token(client);
  assert.equal(await source.token(client, { fresh: true }), first, "just got: fresh enough");
  clock.advance(2 * 60_000);
  assert.notEqual(await source.token(client, { fresh: true }), first);
  const failed = await failure(source.token({ ...client, clientSecret: "rotated-but-wrong" }));
  assert.equal(failed.code, "AUTH_FAILED");
});

test("a refused client is AUTH_FAILED (permanent) with the endpoint's reason and never the secret", async () => {
  const source = new OAuthTokenSource(new ManualClock());
  const err = await failure(source.token({ ...client, clientSecret: "wrong-secret-123" }));
  assert.equal(err.code, "AUTH_FAILED");
  assert.equal(err.transient, false);
  assert.match(err.message, /invalid_client: AADSTS7000215/);
  assert.match(err.message, /127\.0\.0\.1:\d+/);
  assert.doesNotMatch(err.message, /wrong-secret-123|client-secret/);
  const scope = await failure(source.token({ ...client, scope: "other" }));
  assert.match(scope.message, /invalid_scope/);
});

test("endpoint trouble is transient: 5xx, 429, unreachable; a reply without a token is a protocol error", async () => {
  const source = new OAuthTokenSource(new ManualClock());
  server.failNext.push({ status: 503, body: { error: "temporarily_unavailable" } }, { status: 429, body: {} }, { status: 200, body: { token_type: "Bearer" } });
  const down = await failure(source.token(client));
  assert.deepEqual([down.code, down.transient], ["SERVICE_UNAVAILABLE", true]);
  assert.equal((await failure(source.token(client))).code, "SERVICE_UNAVAILABLE");
  const noToken = await failure(source.token(client));
  assert.deepEqual([noToken.code, noToken.transient], ["PROTOCOL_ERROR", true]);
  assert.ok(await source.token(client), "and the next request works");

  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const { port } = closed.address() as AddressInfo;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const unreachable = await failure(source.token({ ...client, tokenUrl: `http://127.0.0.1:${port}/token` }));
  assert.deepEqual([unreachable.code, unreachable.transient], ["NETWORK_UNREACHABLE", true]);
  assert.match(unreachable.message, /ECONNREFUSED/);
});
