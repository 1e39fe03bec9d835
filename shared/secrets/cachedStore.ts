/**
 * @module Secret values kept in memory for a while, so a poll does not read Key Vault every time.
 *
 * Safe because a secret's value never changes under its name: every password or client secret an
 * admin saves gets a fresh name (admin/credentials.ts `freshSecretName`), and the old name is
 * deleted. What can change a value in place is someone editing the vault by hand; such a value
 * applies within SECRET_CACHE_TTL_MS, and at once after a login it gave is refused (the caller
 * `forget`s it, connectionCredentials.ts). Values stay in this process only, as they already did
 * for the length of a connection; nothing here is logged or returned by any route.
 *
 * Why: an empty poll's Key Vault read was about a quarter of its cost (docs/cost.md), and at 100,000
 * mailboxes polled every 5 minutes one read a poll is 3,333 reads per 10 s, near a vault's
 * 4,000-per-10-s service limit.
 */
import type { Clock } from "../runtime/clock.js";
import type { SecretStore } from "./secretStore.js";

/** How long a value read from the store is used before it is read again. */
export const SECRET_CACHE_TTL_MS = 10 * 60_000;
/** Most values held; the oldest goes first (one per mailbox or profile credential in use). */
export const MAX_CACHED_SECRETS = 20_000;

export class CachedSecretStore implements SecretStore {
  private readonly values = new Map<string, { value: string; until: number }>();

  constructor(
    private readonly inner: SecretStore,
    private readonly clock: Clock,
    private readonly ttlMs = SECRET_CACHE_TTL_MS,
    private readonly maxEntries = MAX_CACHED_SECRETS,
  ) {}

  get kind(): SecretStore["kind"] {
    return this.inner.kind;
  }

  async get(name: string): Promise<string> {
    const now = this.clock.now().getTime();
    const hit = this.values.get(name);
    if (hit && hit.until > now) return hit.value;
    const value = await this.inner.get(name);
    this.values.delete(name);
    if (this.values.size >= this.maxEntries) this.values.delete(this.values.keys().next().value as string);
    this.values.set(name, { value, until: now + this.ttlMs });
    return value;
  }

  /** Not cached: admin paths use it to look, and a miss must be seen at once. */
  tryGet(name: string): Promise<string | undefined> {
    return this.inner.tryGet(name);
  }

  async set(name: string, value: string): Promise<void> {
    this.values.delete(name);
    await this.inner.set(name, value);
  }

  async delete(name: string): Promise<void> {
    this.values.delete(name);
    await this.inner.delete(name);
  }

  check(): Promise<void> {
    return this.inner.check();
  }

  /** Drops a held value (a login it gave was refused: the vault may hold a newer one). */
  forget(name: string): void {
    this.values.delete(name);
  }
}
