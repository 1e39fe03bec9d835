/**
 * @module The token request carries the client secret, so it is held to the configured endpoint and
 * to limits the endpoint cannot stretch: a redirect is never followed (the other server receives
 * nothing), a huge response is cut off at MAX_TOKEN_RESPONSE_BYTES, a stalled endpoint (before
 * or during its response) times out, and no error message ever contains the secret.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { MAX_TOKEN_RESPONSE_BYTES, OAuthTokenSource, type OAuthClient } from "../../shared/oauth/tokenSource.js";
import { ManualClock } from "../../shared/runtime/clock.js";
import { AppError, type ErrorCode } from "../../shared/errors.js";

/** With characters that change under form and URL encoding, so every encoded form is checked. */
const SECRET = "s3cr+t/Zq9=&x y";
const FORM_SECRET = new URLSearchParams({ s: SECRET }).toString().slice(2);

interface TestEndpoint {
  url: string;
  requests: number;
  /** Bytes of body written before the client went away. */
  bodyBytesWritten: number;
  close(): Promise<void>;
}

/** An HTTP server whose every answer is `answer`; counts requests. */
async function endpoint(answer: (req: IncomingMessage, res: ServerResponse, self: TestEndpoint) => void): Promise<TestEndpoint> {
  const self: TestEndpoint = { url: "", requests: 0, bodyBytesWritten: 0, close: () => Promise.resolve() };
  const server: Server = createServer((req, res) => {
    self.requests++;
    req.resume();
    req.on("end", () => answer(req, res, self));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  self.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tenant-1/oauth2/v2.0/token`;
  self.close = () => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return self;
}

const clientOf = (e: TestEndpoint): OAuthClient => ({ tokenUrl: e.url, clientId: "app-1", clientSecret: SECRET, scope: "https://outlook.office365.com/.default" });

async function failsWith(p: Promise<unknown>, code: ErrorCode): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof AppError, `expected an AppError, got ${String(err)}`);
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    assert.ok(!err.message.includes(SECRET) && !err.message.includes(FORM_SECRET) && !err.message.includes(encodeURIComponent(SECRET)), err.message);
    return err;
  }
  assert.fail(`expected ${code}, but it succeeded`);
}

let elsewhere: TestEndpoint;
before(async () => {
  elsewhere = await endpoint((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end('{"access_token":"stolen","expires_in":3600}'));
});
after(async () => { await elsewhere?.close(); });

test("a redirect (301, 302, 303, 307, 308) is not followed: AUTH_FAILED, and the other server receives nothing", async () => {
  for (const status of [301, 302, 303, 307, 308]) {
    const tokenServer = await endpoint((_req, res) => res.writeHead(status, { location: `${elsewhere.url}?leak=${FORM_SECRET}` }).end());
    try {
      const err = await failsWith(new OAuthTokenSource(new ManualClock()).token(clientOf(tokenServer)), "AUTH_FAILED");
      assert.equal(err.transient, false, "a misconfigured token URL needs an admin");
      assert.match(err.message, new RegExp(`redirect \\(HTTP ${status}\\).*not followed`));
      assert.doesNotMatch(err.message, /leak=/, "nothing of the Location is repeated");
      assert.equal(tokenServer.requests, 1);
    } finally {
      await tokenServer.close();
    }
  }
  assert.equal(elsewhere.requests, 0, "the client secret never went to the redirect target");
});

test("a huge response is cut off at MAX_TOKEN_RESPONSE_BYTES: PROTOCOL_LIMIT_EXCEEDED, and the rest is never read", async () => {
  const TOTAL = 64 * 1024 * 1024;
  // Chunked, no Content-Length: the client only learns the size by reading.
  const huge = await endpoint((_req, res, self) => {
    res.writeHead(200, { "content-type": "application/json" });
    const chunk = Buffer.alloc(16 * 1024, "x");
    const pump = (): void => {
      while (self.bodyBytesWritten < TOTAL && !res.destroyed) {
        self.bodyBytesWritten += chunk.length;
        if (!res.write(chunk)) return void res.once("drain", pump);
      }
      if (!res.destroyed) res.end();
    };
    res.write('{"access_token":"');
    pump();
  });
  try {
    const err = await failsWith(new OAuthTokenSource(new ManualClock()).token(clientOf(huge)), "PROTOCOL_LIMIT_EXCEEDED");
    assert.match(err.message, new RegExp(`larger than ${MAX_TOKEN_RESPONSE_BYTES} bytes`));
    assert.equal(err.transient, true);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(huge.bodyBytesWritten < TOTAL / 4, `the server wrote ${huge.bodyBytesWritten} bytes: the client kept reading`);
  } finally {
    await huge.close();
  }
});

test("a response announcing more than the limit is refused before its body is read", async () => {
  const announced = await endpoint((_req, res) => {
    res.writeHead(200, { "content-type": "application/json", "content-length": String(MAX_TOKEN_RESPONSE_BYTES + 1) });
    res.write("{"); // and then nothing: reading would wait for ever
  });
  try {
    const source = new OAuthTokenSource(new ManualClock(), fetch, { timeoutMs: 10_000 });
    const started = performance.now();
    await failsWith(source.token(clientOf(announced)), "PROTOCOL_LIMIT_EXCEEDED");
    assert.ok(performance.now() - started < 5000, "refused at the headers, not after the timeout");
  } finally {
    await announced.close();
  }
});

test("a limit set smaller is honoured, and a response within it still gives a token", async () => {
  const ok = await endpoint((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ access_token: "t".repeat(900), expires_in: 3600 })));
  try {
    assert.equal(await new OAuthTokenSource(new ManualClock(), fetch, { maxResponseBytes: 1024 }).token(clientOf(ok)), "t".repeat(900));
    await failsWith(new OAuthTokenSource(new ManualClock(), fetch, { maxResponseBytes: 512 }).token(clientOf(ok)), "PROTOCOL_LIMIT_EXCEEDED");
  } finally {
    await ok.close();
  }
});

test("a stalled endpoint times out: no answer at all, or a response that stops halfway", async () => {
  const silent = await endpoint(() => undefined); // reads the request, never answers
  const halfway = await endpoint((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.write('{"access_token":"abc'); // then nothing
  });
  try {
    const source = new OAuthTokenSource(new ManualClock(), fetch, { timeoutMs: 400 });
    for (const [server, when] of [[silent, /did not answer in 400 ms\.$/], [halfway, /did not answer in 400 ms \(while sending its response\)/]] as const) {
      const started = performance.now();
      const err = await failsWith(source.token(clientOf(server)), "CONNECTION_TIMEOUT");
      const elapsed = performance.now() - started;
      assert.match(err.message, when);
      assert.equal(err.transient, true);
      assert.ok(elapsed >= 380 && elapsed < 400 + 2000, `ended after ${elapsed.toFixed(0)} ms`);
    }
  } finally {
    await silent.close();
    await halfway.close();
  }
});

test("an endpoint echoing the secret back in its error does not get it into the error message", async () => {
  const echo = await endpoint((_req, res) => res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({
    error: `invalid_client ${SECRET}`,
    error_description: `AADSTS7000215: Invalid client secret provided: ${SECRET} (form: ${FORM_SECRET}, url: ${encodeURIComponent(SECRET)})`,
  })));
  try {
    const err = await failsWith(new OAuthTokenSource(new ManualClock()).token(clientOf(echo)), "AUTH_FAILED");
    assert.match(err.message, /invalid_client \[redacted\]: AADSTS7000215: Invalid client secret provided: \[redacted\]/);
  } finally {
    await echo.close();
  }
});
