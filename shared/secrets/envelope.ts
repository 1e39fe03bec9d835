/**
 * @module AES-256-GCM envelopes for the embedded secret store. Pure functions over bytes: no
 * storage here. The secret's name is bound as additional authenticated data, so an envelope copied
 * to another name does not open, and GCM's tag means a wrong key or an altered byte fails instead
 * of returning garbage (NIST SP 800-38D).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { AppError } from "../errors.js";

export const ENVELOPE_FORMAT = 1;
const ALGORITHM = "aes-256-gcm";
const KEY_BYTES = 32;
/** 96-bit IVs are GCM's native size; random per write keeps (key, IV) pairs unique (SP 800-38D 8.2.2). */
const IV_BYTES = 12;
/** Full 128-bit tags; a shorter tag must never be accepted, so the length is checked before use. */
const TAG_BYTES = 16;

export interface Envelope {
  format: number;
  /** Which key sealed it (see keyIdOf), so a rotated key can still open older rows. */
  keyId: string;
  iv: string;
  tag: string;
  ciphertext: string;
}

export interface SecretKey {
  id: string;
  bytes: Buffer;
}

/** A short public fingerprint of the key: names it without revealing anything usable about it. */
export function keyIdOf(key: Buffer): string {
  return "k1-" + createHash("sha256").update("email-sync/local-secrets-key-id\0").update(key).digest("hex").slice(0, 16);
}

/** Reads LOCAL_SECRETS_KEY (base64, 32 bytes); CONFIGURATION_INVALID otherwise. */
export function secretKeyFromBase64(base64: string): SecretKey {
  const bytes = Buffer.from(base64, "base64");
  if (bytes.length !== KEY_BYTES) {
    throw new AppError("CONFIGURATION_INVALID", `LOCAL_SECRETS_KEY must be ${KEY_BYTES} bytes, base64-encoded.`, {
      details: [{ path: "LOCAL_SECRETS_KEY", message: `decodes to ${bytes.length} bytes` }],
    });
  }
  return { id: keyIdOf(bytes), bytes };
}

const aadFor = (name: string): Buffer => Buffer.from(`email-sync/secret/v${ENVELOPE_FORMAT}/${name}`, "utf8");

export function seal(key: SecretKey, name: string, value: string): Envelope {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key.bytes, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aadFor(name));
  const ciphertext = Buffer.concat([cipher.update(value, "utf8"), cipher.final()]);
  return {
    format: ENVELOPE_FORMAT,
    keyId: key.id,
    iv: iv.toString("base64"),
    tag: cipher.getAuthTag().toString("base64"),
    ciphertext: ciphertext.toString("base64"),
  };
}

const decryptionFailed = (name: string, why: string, cause?: unknown): AppError =>
  new AppError("SECRET_DECRYPTION_FAILED", `Secret ${name} could not be decrypted: ${why}.`, cause === undefined ? {} : { cause });

/** The envelope fields of a stored row; SECRET_DECRYPTION_FAILED when any is missing or mistyped. */
export function envelopeFrom(name: string, row: Record<string, unknown>): Envelope {
  const { format, keyId, iv, tag, ciphertext } = row;
  if (typeof format !== "number" || [keyId, iv, tag, ciphertext].some((f) => typeof f !== "string")) {
    throw decryptionFailed(name, "the stored envelope is malformed");
  }
  return { format, keyId: keyId as string, iv: iv as string, tag: tag as string, ciphertext: ciphertext as string };
}

/** Opens an envelope sealed for `name` with one of `keys`; SECRET_DECRYPTION_FAILED on any mismatch. */
export function open(keys: readonly SecretKey[], name: string, envelope: Envelope): string {
  if (envelope.format !== ENVELOPE_FORMAT) throw decryptionFailed(name, `unknown envelope format ${String(envelope.format)}`);
  const key = keys.find((k) => k.id === envelope.keyId);
  if (!key) {
    throw decryptionFailed(name, `it was encrypted with key ${envelope.keyId}, which is not configured (was LOCAL_SECRETS_KEY changed?)`);
  }
  const iv = Buffer.from(envelope.iv, "base64");
  const tag = Buffer.from(envelope.tag, "base64");
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw decryptionFailed(name, "the stored envelope is malformed");
  try {
    const decipher = createDecipheriv(ALGORITHM, key.bytes, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aadFor(name));
    decipher.setAuthTag(tag);
    const plain = Buffer.concat([decipher.update(Buffer.from(envelope.ciphertext, "base64")), decipher.final()]);
    return plain.toString("utf8");
  } catch (err) {
    // Node's message is a fixed "Unsupported state or unable to authenticate data"; keep only that.
    const reason = err instanceof Error ? err.message : "unknown";
    throw decryptionFailed(name, "authentication failed (wrong key, or the stored value was altered or copied from another secret)", new Error(reason));
  }
}
