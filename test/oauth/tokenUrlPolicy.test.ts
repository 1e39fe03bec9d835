/**
 * The client secret is POSTed only over https; plain http only to loopback and only with the
 * dev-only setting ALLOW_INSECURE_TOKEN_URL=loopback (issue 10, point 2). Checked before every
 * token request, so a URL saved under another rule never receives the secret.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { OAuthTokenSource } from "../../shared/oauth/tokenSource.js";
import { insecureTokenUrlPolicy, tokenUrlProblem } from "../../shared/oauth/tokenUrlPolicy.js";
import { ManualClock } from "../../shared/runtime/clock.js";
import { isAppError } from "../../shared/errors.js";

test("https anywhere; http only to loopback, only with the setting", () => {
  for (const url of ["https://login.microsoftonline.com/t/oauth2/v2.0/token", "https://127.0.0.1:8443/token"]) {
    assert.equal(tokenUrlProblem(url, "none"), undefined, url);
  }
  for (const url of ["http://127.0.0.1:8080/token", "http://localhost/token", "http://[::1]:9/token", "http://127.8.9.10/token"]) {
    assert.equal(tokenUrlProblem(url, "loopback"), undefined, url);
    assert.match(tokenUrlProblem(url, "none") ?? "", /https/, url);
  }
  for (const url of ["http://login.example.test/token", "http://10.0.0.1/token", "http://169.254.169.254/token",
    "http://127.0.0.1.nip.io/token", "http://localhost.evil.test/token", "ftp://127.0.0.1/token", "not a url"]) {
    assert.notEqual(tokenUrlProblem(url, "loopback"), undefined, url);
  }
  assert.equal(insecureTokenUrlPolicy({ ALLOW_INSECURE_TOKEN_URL: "loopback" }), "loopback");
  assert.equal(insecureTokenUrlPolicy({ ALLOW_INSECURE_TOKEN_URL: "all" }), "none");
  assert.equal(insecureTokenUrlPolicy({}), "none");
});

test("without the setting, a stored http token URL on loopback receives nothing at request time", async () => {
  let requests = 0;
  const server = createServer((_req, res) => {
    requests++;
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ access_token: "t", expires_in: 3600 }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  const client = { tokenUrl: url, clientId: "app", clientSecret: "never-sent-Zq9", scope: "s" };
  const saved = process.env.ALLOW_INSECURE_TOKEN_URL;
  try {
    delete process.env.ALLOW_INSECURE_TOKEN_URL;
    await assert.rejects(new OAuthTokenSource(new ManualClock()).token(client), (err) => {
      assert.ok(isAppError(err));
      assert.equal(err.code, "TLS_REQUIRED");
      assert.doesNotMatch(err.message, /never-sent/);
      return true;
    });
    assert.equal(requests, 0, "the endpoint received no request");
    process.env.ALLOW_INSECURE_TOKEN_URL = "loopback";
    assert.equal(await new OAuthTokenSource(new ManualClock()).token(client), "t");
    assert.equal(requests, 1);
  } finally {
    if (saved === undefined) delete process.env.ALLOW_INSECURE_TOKEN_URL;
    else process.env.ALLOW_INSECURE_TOKEN_URL = saved;
    await new Promise((resolve) => server.close(resolve));
  }
});
