import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { inspect } from "node:util";
import { describeFailure, isTransientFailure, storeUnavailable } from "../../shared/secrets/backendError.js";
import { assertNoSecretIn } from "./leak.js";

/** Shaped like the SDK's RestError: status, code, and the request that carried the value. */
function restError(message: string, statusCode: number | undefined, code: string | undefined, body: string): Error {
  return Object.assign(new Error(message), { name: "RestError", statusCode, code, request: { body } });
}

describe("secret store backend errors", () => {
  it("classifies statuses: outages, throttling, access and in-progress conflicts are transient", () => {
    const transient = (status: number | undefined): boolean => isTransientFailure({ name: "RestError", status, code: undefined, message: "" });
    for (const s of [undefined, 401, 403, 408, 409, 429, 500, 503]) assert.equal(transient(s), true, String(s));
    for (const s of [400, 404, 413]) assert.equal(transient(s), false, String(s));
  });

  it("keeps status, code and message but drops the request, and scrubs the value from the message", () => {
    const value = "s3cr3t-value";
    const err = storeUnavailable("Key Vault", "set mbx-1-in", restError(`bad body near ${value}`, 500, "InternalServerError", `{"value":"${value}"}`), value);
    assert.equal(err.code, "SECRET_STORE_UNAVAILABLE");
    assert.equal(err.transient, true);
    assert.equal(err.message, "Key Vault: set mbx-1-in failed (HTTP 500 InternalServerError).");
    assertNoSecretIn(err, value);
    assert.match(inspect(err), /\[redacted\]/);
    assert.deepEqual(describeFailure(err.cause), { name: "RestError", status: 500, code: "InternalServerError", message: "bad body near [redacted]" });
  });

  it("summarises network failures by their system code", () => {
    const err = storeUnavailable("Key Vault", "get x", restError("connect ECONNREFUSED 127.0.0.1:1", undefined, "ECONNREFUSED", ""));
    assert.equal(err.message, "Key Vault: get x failed (ECONNREFUSED).");
    assert.equal(storeUnavailable("Key Vault", "check", new DOMException("aborted", "AbortError")).message, "Key Vault: check failed (AbortError).");
  });
});
