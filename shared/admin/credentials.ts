/**
 * @module Write-only credentials: a password in a request goes to the secret store; the entity
 * keeps the user name and the secret's name only. Every password written gets a fresh name
 * (`<base>-<random>`), so a request never overwrites a value another entity version points at:
 * a refused or lost request deletes only what it wrote, the winner deletes what it replaced, and
 * two concurrent changes cannot leave the entity pointing at the other one's value.
 * Planning is pure; writes happen only after every check passed (docs/decisions/0014).
 */
import { randomBytes } from "node:crypto";
import type { CredentialsInput } from "../domain/common.js";
import type { OAuthInput, StoredCredentials, StoredOAuth } from "../domain/profile.js";
import type { SecretStore } from "../secrets/index.js";
import { toAppError } from "../errors.js";

/** One secret the request brings: its new name and value. */
export interface SecretWrite {
  name: string;
  value: string;
}

export interface Planned<T> {
  value: T | null;
  /** The request carries a new secret, to be written under `write.name`. */
  write: SecretWrite | null;
  /** A stored secret no longer referenced once the change is saved. */
  superseded: string | null;
  /** The stored secret is still referenced, unchanged. */
  kept: boolean;
}

/** `mbx-<id>-cred-1a2b3c4d`: unique per write; Key Vault's name rules hold (<= 127 characters). */
export const freshSecretName = (base: string): string => `${base}-${randomBytes(4).toString("hex")}`;

/**
 * A credentials field of a request applied to what is stored: `undefined` keeps it, `null` removes
 * it, an object replaces the user name and, when it carries a password, the secret.
 */
export function planCredentials(stored: StoredCredentials | null, input: CredentialsInput | null | undefined, newName: string): Planned<StoredCredentials> {
  const storedName = stored?.secretName ?? null;
  if (input === undefined) return { value: stored, write: null, superseded: null, kept: storedName !== null };
  if (input === null) return { value: null, write: null, superseded: storedName, kept: false };
  if (input.password !== undefined) {
    return { value: { userName: input.userName, secretName: newName }, write: { name: newName, value: input.password }, superseded: storedName, kept: false };
  }
  return { value: { userName: input.userName, secretName: storedName }, write: null, superseded: null, kept: storedName !== null };
}

/** The same rules for a profile's OAuth client: its secret is write-only too. */
export function planOAuth(stored: StoredOAuth | null, input: OAuthInput | null | undefined, newName: string): Planned<StoredOAuth> {
  const storedName = stored?.secretName ?? null;
  if (input === undefined) return { value: stored, write: null, superseded: null, kept: storedName !== null };
  if (input === null) return { value: null, write: null, superseded: storedName, kept: false };
  const { tokenUrl, clientId, scope } = input;
  if (input.clientSecret !== undefined) {
    return { value: { tokenUrl, clientId, scope, secretName: newName }, write: { name: newName, value: input.clientSecret }, superseded: storedName, kept: false };
  }
  return { value: { tokenUrl, clientId, scope, secretName: storedName }, write: null, superseded: null, kept: storedName !== null };
}

/** Writes every secret, or none: a failure part-way deletes those already written, then rethrows. */
export async function writeSecrets(secrets: SecretStore, writes: (SecretWrite | null)[]): Promise<void> {
  const done: string[] = [];
  try {
    for (const w of writes) {
      if (!w) continue;
      await secrets.set(w.name, w.value);
      done.push(w.name);
    }
  } catch (err) {
    await removeSecrets(secrets, done);
    throw err;
  }
}

/**
 * Runs `save` after writing `writes`; when `save` fails the secrets it brought are deleted again,
 * so a refused request leaves the store as it found it. A failure that is not a clear refusal
 * (Storage unavailable: the commit may have landed) first asks `referenced` which names the stored
 * entity points at now, and keeps those.
 */
export async function withSecrets<T>(
  secrets: SecretStore, writes: (SecretWrite | null)[], save: () => Promise<T>, referenced: () => Promise<(string | null | undefined)[]>,
): Promise<T> {
  await writeSecrets(secrets, writes);
  try {
    return await save();
  } catch (err) {
    let keep: (string | null | undefined)[] = [];
    if (toAppError(err).status >= 500) keep = await referenced().catch(() => writes.map((w) => w?.name));
    await removeSecrets(secrets, writes.map((w) => w?.name).filter((n) => !keep.includes(n)));
    throw err;
  }
}

/** Deletes secrets that no entity references any more; a failure here only leaves an orphan. */
export async function removeSecrets(secrets: SecretStore, names: (string | null | undefined)[]): Promise<void> {
  for (const name of names) {
    if (!name) continue;
    try {
      await secrets.delete(name);
    } catch {
      // An orphaned secret is harmless; failing the request after the entity changed would not be.
    }
  }
}
