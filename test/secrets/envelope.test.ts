import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { AppError } from "../../shared/errors.js";
import { envelopeFrom, keyIdOf, open, seal, secretKeyFromBase64, type SecretKey } from "../../shared/secrets/envelope.js";

const newKey = (): SecretKey => secretKeyFromBase64(randomBytes(32).toString("base64"));
const decryptionFailed = (err: unknown): boolean => err instanceof AppError && err.code === "SECRET_DECRYPTION_FAILED" && !err.transient;

describe("AES-256-GCM envelopes", () => {
  it("round-trips any UTF-8 value, with a fresh 12-byte IV each time", () => {
    const key = newKey();
    const value = "pässwörd 🔑 \u0000 end";
    const a = seal(key, "mbx-1-in", value);
    const b = seal(key, "mbx-1-in", value);
    assert.equal(open([key], "mbx-1-in", a), value);
    assert.notEqual(a.iv, b.iv);
    assert.notEqual(a.ciphertext, b.ciphertext);
    assert.equal(Buffer.from(a.iv, "base64").length, 12);
    assert.equal(Buffer.from(a.tag, "base64").length, 16);
    assert.equal(a.keyId, key.id);
    assert.equal(open([key], "e", seal(key, "e", "")), "");
  });

  it("binds the name: an envelope opened under another name fails", () => {
    const key = newKey();
    assert.throws(() => open([key], "mbx-2-in", seal(key, "mbx-1-in", "secret")), decryptionFailed);
  });

  it("fails, never returns garbage, under a wrong key even when the key id is forged", () => {
    const right = newKey();
    const wrong = newKey();
    const env = seal(right, "n", "secret");
    assert.throws(() => open([wrong], "n", env), decryptionFailed);
    assert.throws(() => open([{ id: right.id, bytes: wrong.bytes }], "n", env), decryptionFailed);
  });

  it("rejects altered ciphertext, truncated tags and malformed rows", () => {
    const key = newKey();
    const env = seal(key, "n", "secret value");
    const ct = Buffer.from(env.ciphertext, "base64");
    ct[0] = (ct[0] ?? 0) ^ 1;
    assert.throws(() => open([key], "n", { ...env, ciphertext: ct.toString("base64") }), decryptionFailed);
    const shortTag = Buffer.from(env.tag, "base64").subarray(0, 4).toString("base64");
    assert.throws(() => open([key], "n", { ...env, tag: shortTag }), decryptionFailed);
    assert.throws(() => open([key], "n", { ...env, format: 99 }), decryptionFailed);
    assert.throws(() => envelopeFrom("n", { format: 1, keyId: key.id, iv: env.iv }), decryptionFailed);
  });

  it("opens rows sealed with a previous key once it is listed", () => {
    const oldKey = newKey();
    const newer = newKey();
    const env = seal(oldKey, "n", "v");
    assert.throws(() => open([newer], "n", env), decryptionFailed);
    assert.equal(open([newer, oldKey], "n", env), "v");
  });

  it("names keys by a stable fingerprint and refuses keys that are not 32 bytes", () => {
    const bytes = randomBytes(32);
    assert.equal(keyIdOf(bytes), keyIdOf(Buffer.from(bytes)));
    assert.match(keyIdOf(bytes), /^k1-[0-9a-f]{16}$/);
    assert.throws(() => secretKeyFromBase64(randomBytes(16).toString("base64")), (err: unknown) => err instanceof AppError && err.code === "CONFIGURATION_INVALID");
  });
});
