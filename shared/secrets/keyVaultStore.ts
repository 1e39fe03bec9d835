/**
 * @module The Key Vault secret store, used when KEY_VAULT_URL is set. Thin over SecretClient:
 * it validates names, maps failures to AppErrors and handles one Key Vault rule the SDK leaves to
 * callers: a deleted secret stays soft-deleted for the vault's retention period and holds its
 * name, so `setSecret` on that name answers 409 Conflict until the secret is recovered or purged.
 * `set` recovers it and writes the new value as a new version (see docs/decisions/0003-secrets.md).
 */
import type { SecretClient } from "@azure/keyvault-secrets";
import { AppError } from "../errors.js";
import { describeFailure, sanitizedCause, storeUnavailable } from "./backendError.js";
import { assertValidSecretName } from "./secretName.js";
import { HEALTH_PROBE_SECRET, type SecretStore } from "./secretStore.js";

const BACKEND = "Key Vault";

export interface KeyVaultSecretStoreOptions {
  /**
   * Waits between `set` attempts while a soft-deleted name is still being deleted or recovered
   * (both take seconds in Key Vault). Its length is the number of retries. Default 0.25 s to 8 s.
   */
  conflictRetryDelaysMs?: number[];
  /** Bound on check() so /api/health answers even when Key Vault does not. Default 5 s. */
  checkTimeoutMs?: number;
}

const DEFAULT_CONFLICT_DELAYS_MS = [250, 500, 1000, 2000, 4000, 8000];

const statusOf = (err: unknown): number | undefined => describeFailure(err).status;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class KeyVaultSecretStore implements SecretStore {
  readonly kind = "keyVault" as const;

  constructor(
    private readonly client: SecretClient,
    private readonly options: KeyVaultSecretStoreOptions = {},
  ) {}

  async set(name: string, value: string): Promise<void> {
    assertValidSecretName(name);
    const delays = this.options.conflictRetryDelaysMs ?? DEFAULT_CONFLICT_DELAYS_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.setSecret(name, value);
        return;
      } catch (err) {
        if (statusOf(err) !== 409) throw storeUnavailable(BACKEND, `set ${name}`, err, value);
        const delay = delays[attempt];
        if (delay === undefined) {
          throw new AppError("SECRET_STORE_UNAVAILABLE", `${BACKEND}: set ${name} failed: a deleted secret still holds the name; try again later.`, {
            cause: sanitizedCause(describeFailure(err), value),
          });
        }
        // Recovery accepted: the next set may already succeed. Otherwise deletion or recovery is
        // still in progress on the service side, so wait before asking again.
        if (!(await this.recover(name, value))) await sleep(delay);
      }
    }
  }

  async get(name: string): Promise<string> {
    const value = await this.tryGet(name);
    if (value === undefined) throw new AppError("SECRET_NOT_FOUND", `Secret ${name} was not found in Key Vault.`);
    return value;
  }

  async tryGet(name: string): Promise<string | undefined> {
    assertValidSecretName(name);
    try {
      const secret = await this.client.getSecret(name);
      return secret.value ?? "";
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw storeUnavailable(BACKEND, `get ${name}`, err);
    }
  }

  /** Soft-deletes the secret and returns without waiting for the deletion (or any purge) to finish. */
  async delete(name: string): Promise<void> {
    assertValidSecretName(name);
    try {
      await this.client.beginDeleteSecret(name);
    } catch (err) {
      if (statusOf(err) === 404) return;
      throw storeUnavailable(BACKEND, `delete ${name}`, err);
    }
  }

  /** Reads a name no credential uses: "not found" proves the vault is reachable and the token accepted. */
  async check(): Promise<void> {
    try {
      await this.client.getSecret(HEALTH_PROBE_SECRET, { abortSignal: AbortSignal.timeout(this.options.checkTimeoutMs ?? 5000) });
    } catch (err) {
      if (statusOf(err) === 404) return;
      throw storeUnavailable(BACKEND, "check", err);
    }
  }

  /**
   * Starts recovering a soft-deleted secret; false when Key Vault is not ready for that yet (409:
   * deletion still in progress) or there is nothing to recover (404: already purged or recovered).
   */
  private async recover(name: string, value: string): Promise<boolean> {
    try {
      await this.client.beginRecoverDeletedSecret(name);
      return true;
    } catch (err) {
      const status = statusOf(err);
      if (status === 409 || status === 404) return false;
      throw storeUnavailable(BACKEND, `set ${name} (recovering the deleted secret)`, err, value);
    }
  }
}
