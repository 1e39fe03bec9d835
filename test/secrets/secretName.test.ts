import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AppError } from "../../shared/errors.js";
import { assertValidSecretName, isValidSecretName, secretNameFor } from "../../shared/secrets/secretName.js";

describe("secret names (Key Vault rules)", () => {
  it("accepts 1-127 ASCII letters, digits and dashes", () => {
    for (const name of ["a", "mbx-0b6f2c1e-2f4b-4b8e-9a51-3c1d2e4f5a6b-in", "PRF-1-out", "-", "x".repeat(127)]) {
      assert.equal(isValidSecretName(name), true, name);
    }
  });

  it("rejects empty, too long, and any other character", () => {
    for (const name of ["", "x".repeat(128), "a_b", "a.b", "a b", "a/b", "ä", "a\n", "mbx-1-in?"]) {
      assert.equal(isValidSecretName(name), false, JSON.stringify(name));
      assert.throws(() => assertValidSecretName(name), (err: unknown) => err instanceof AppError && err.code === "VALIDATION_FAILED");
    }
    assert.equal(isValidSecretName(undefined), false);
  });

  it("does not repeat the rejected name in the error", () => {
    const notAName = "hunter2 is my password";
    assert.throws(() => assertValidSecretName(notAName), (err: unknown) => err instanceof AppError && !JSON.stringify(err).includes("hunter2") && !err.message.includes("hunter2"));
  });

  it("builds mailbox and profile credential names", () => {
    assert.equal(secretNameFor("mbx", "0b6f2c1e-2f4b-4b8e-9a51-3c1d2e4f5a6b", "in"), "mbx-0b6f2c1e-2f4b-4b8e-9a51-3c1d2e4f5a6b-in");
    assert.equal(secretNameFor("prf", "P1", "out"), "prf-p1-out");
    assert.throws(() => secretNameFor("mbx", "not/valid", "in"), (err: unknown) => err instanceof AppError && err.code === "VALIDATION_FAILED");
  });
});
