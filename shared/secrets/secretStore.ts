/**
 * @module The one interface credentials are stored behind (DESIGN.md decision 6). Entities hold
 * only a secret name; the value lives in Key Vault or in the embedded encrypted table.
 * Every method validates the name (secretName.ts) and fails with an AppError whose message and
 * cause never contain the value.
 */

export type SecretStoreKind = "keyVault" | "embedded";

export interface SecretStore {
  /** Creates the secret or replaces its value. */
  set(name: string, value: string): Promise<void>;
  /** The value; SECRET_NOT_FOUND when there is none. */
  get(name: string): Promise<string>;
  /** undefined when absent */
  tryGet(name: string): Promise<string | undefined>;
  /** Removes the secret; deleting a name that does not exist is not an error. */
  delete(name: string): Promise<void>;
  /** cheap reachability check for /api/health */
  check(): Promise<void>;
  /** Drops a value held in memory, if the store holds any (cachedStore.ts). */
  forget?(name: string): void;
  readonly kind: SecretStoreKind;
}

/** A name no credential uses; `check()` reads it and expects "not found". */
export const HEALTH_PROBE_SECRET = "health-probe";
