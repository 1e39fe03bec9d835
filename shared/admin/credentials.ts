/**
 * @module Write-only credentials: a password in a request goes to the secret store under a name
 * derived from the owning entity; the entity keeps the user name and that secret name only.
 */
import type { CredentialsInput } from "../domain/common.js";
import type { OAuthInput, StoredCredentials, StoredOAuth } from "../domain/profile.js";
import type { SecretStore } from "../secrets/index.js";

/**
 * Applies a credentials field of a request to what is stored.
 * `undefined` keeps the stored credentials, `null` removes them, an object replaces the user name
 * and, when it carries a password, the secret (a new password under the same secret name).
 */
export async function applyCredentials(
  secrets: SecretStore,
  secretName: string,
  stored: StoredCredentials | null,
  input: CredentialsInput | null | undefined,
): Promise<{ value: StoredCredentials | null; passwordChanged: boolean; removeSecret: string | null }> {
  if (input === undefined) return { value: stored, passwordChanged: false, removeSecret: null };
  if (input === null) return { value: null, passwordChanged: stored?.secretName != null, removeSecret: stored?.secretName ?? null };
  if (input.password !== undefined) {
    await secrets.set(secretName, input.password);
    return { value: { userName: input.userName, secretName }, passwordChanged: true, removeSecret: null };
  }
  return { value: { userName: input.userName, secretName: stored?.secretName ?? null }, passwordChanged: false, removeSecret: null };
}

/** The same rules for a profile's OAuth client: its secret is write-only too. */
export async function applyOAuth(
  secrets: SecretStore,
  secretName: string,
  stored: StoredOAuth | null,
  input: OAuthInput | null | undefined,
): Promise<{ value: StoredOAuth | null; secretChanged: boolean; removeSecret: string | null }> {
  if (input === undefined) return { value: stored, secretChanged: false, removeSecret: null };
  if (input === null) return { value: null, secretChanged: stored?.secretName != null, removeSecret: stored?.secretName ?? null };
  const { tokenUrl, clientId, scope } = input;
  if (input.clientSecret !== undefined) {
    await secrets.set(secretName, input.clientSecret);
    return { value: { tokenUrl, clientId, scope, secretName }, secretChanged: true, removeSecret: null };
  }
  return { value: { tokenUrl, clientId, scope, secretName: stored?.secretName ?? null }, secretChanged: false, removeSecret: null };
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
