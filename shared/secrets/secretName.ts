/**
 * @module Secret names: the one place that says what a valid name is. Both stores accept only
 * names Key Vault accepts (1-127 characters, ASCII letters, digits and dashes), so a name that
 * works with the embedded store in development also works against Key Vault in Azure.
 */
import { AppError } from "../errors.js";

/** Key Vault object names: `^[0-9a-zA-Z-]{1,127}$` (Key Vault "About keys, secrets and certificates"). */
const SECRET_NAME = /^[0-9A-Za-z-]{1,127}$/;

export function isValidSecretName(name: unknown): name is string {
  return typeof name === "string" && SECRET_NAME.test(name);
}

/**
 * Throws VALIDATION_FAILED for a name Key Vault would reject. The name itself is not repeated in
 * the error: a caller that mixed up arguments could otherwise put a password into a message.
 */
export function assertValidSecretName(name: unknown): asserts name is string {
  if (isValidSecretName(name)) return;
  const length = typeof name === "string" ? name.length : 0;
  throw new AppError("VALIDATION_FAILED", "A secret name must be 1-127 characters of ASCII letters, digits and dashes.", {
    details: [{ path: "secretName", message: `invalid secret name (length ${length})` }],
  });
}

/**
 * Key Vault treats names case-insensitively (`MBX-1-IN` and `mbx-1-in` are one secret); the
 * embedded store keys its rows by this form so both stores agree.
 */
export function canonicalSecretName(name: string): string {
  return name.toLowerCase();
}

/** The name of a credential: `mbx-<id>-in` for a mailbox's POP3 login, `prf-<id>-out` for a profile's SMTP login. */
export function secretNameFor(owner: "mbx" | "prf", id: string, direction: "in" | "out"): string {
  const name = canonicalSecretName(`${owner}-${id}-${direction}`);
  assertValidSecretName(name);
  return name;
}
