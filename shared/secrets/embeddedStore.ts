/**
 * @module The embedded secret store, used when KEY_VAULT_URL is not set: each value is sealed with
 * AES-256-GCM under LOCAL_SECRETS_KEY (envelope.ts) and kept in the `secrets` table, one row per
 * name, lower-cased because Key Vault compares names that way. The table holds only
 * {format, keyId, iv, tag, ciphertext}; the plaintext never leaves this process.
 */
import { RestError, type TableClient } from "@azure/data-tables";
import { AppError } from "../errors.js";
import { envelopeFrom, open, seal, type Envelope, type SecretKey } from "./envelope.js";
import { storeUnavailable } from "./backendError.js";
import { assertValidSecretName, canonicalSecretName } from "./secretName.js";
import { HEALTH_PROBE_SECRET, type SecretStore } from "./secretStore.js";

export const SECRETS_PARTITION = "secret";
const BACKEND = "Embedded secret store";

export interface EmbeddedSecretStoreOptions {
  /** Seals every write. */
  key: SecretKey;
  /** Older keys that may still open rows written before a rotation; never used to write. */
  previousKeys?: SecretKey[];
  /** Bound on check() so /api/health answers even when Storage does not. Default 5 s. */
  checkTimeoutMs?: number;
}

type SecretEntity = Envelope & { partitionKey: string; rowKey: string };

const isNotFound = (err: unknown): boolean => err instanceof RestError && err.statusCode === 404;

export class EmbeddedSecretStore implements SecretStore {
  readonly kind = "embedded" as const;
  private readonly keys: SecretKey[];
  private tableReady: Promise<void> | undefined;

  constructor(
    private readonly table: TableClient,
    private readonly options: EmbeddedSecretStoreOptions,
  ) {
    this.keys = [options.key, ...(options.previousKeys ?? [])];
  }

  async set(name: string, value: string): Promise<void> {
    assertValidSecretName(name);
    const rowKey = canonicalSecretName(name);
    const entity: SecretEntity = { partitionKey: SECRETS_PARTITION, rowKey, ...seal(this.options.key, rowKey, value) };
    await this.call(`set ${name}`, async () => {
      await this.table.upsertEntity(entity, "Replace");
    });
  }

  async get(name: string): Promise<string> {
    const value = await this.tryGet(name);
    if (value === undefined) throw new AppError("SECRET_NOT_FOUND", `Secret ${name} was not found in the embedded secret store.`);
    return value;
  }

  async tryGet(name: string): Promise<string | undefined> {
    assertValidSecretName(name);
    const rowKey = canonicalSecretName(name);
    const entity = await this.call(`get ${name}`, () => this.readEntity(rowKey));
    if (entity === undefined) return undefined;
    return open(this.keys, rowKey, envelopeFrom(rowKey, entity));
  }

  async delete(name: string): Promise<void> {
    assertValidSecretName(name);
    await this.call(`delete ${name}`, async () => {
      try {
        await this.table.deleteEntity(SECRETS_PARTITION, canonicalSecretName(name));
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    });
  }

  /** Reads a name no credential uses: "not found" proves the table is reachable. */
  async check(): Promise<void> {
    const abortSignal = AbortSignal.timeout(this.options.checkTimeoutMs ?? 5000);
    await this.call("check", () => this.readEntity(HEALTH_PROBE_SECRET, abortSignal), abortSignal);
  }

  private async readEntity(name: string, abortSignal?: AbortSignal): Promise<Record<string, unknown> | undefined> {
    try {
      return await this.table.getEntity<Record<string, unknown>>(SECRETS_PARTITION, name, { abortSignal });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Creates the table on first use (once per instance), then runs `fn`; SDK errors become AppErrors. */
  private async call<T>(operation: string, fn: () => Promise<T>, abortSignal?: AbortSignal): Promise<T> {
    try {
      this.tableReady ??= this.table.createTable({ abortSignal }).catch((err: unknown) => {
        this.tableReady = undefined;
        throw err;
      });
      await this.tableReady;
      return await fn();
    } catch (err) {
      // Only ciphertext ever travels to Storage, so no value needs scrubbing here.
      throw storeUnavailable(BACKEND, operation, err);
    }
  }
}
