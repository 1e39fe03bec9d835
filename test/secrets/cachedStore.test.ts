/**
 * Secret values are held in memory for SECRET_CACHE_TTL_MS (shared/secrets/cachedStore.ts): a poll
 * does not read Key Vault each time, a value changed by hand in the vault applies after the TTL or
 * at once after a refused login, and writes through the store are never served stale.
 */
import { after, before, describe, it, test } from "node:test";
import assert from "node:assert/strict";
import { CachedSecretStore, SECRET_CACHE_TTL_MS } from "../../shared/secrets/cachedStore.js";
import type { SecretStore } from "../../shared/secrets/secretStore.js";
import { AppError } from "../../shared/errors.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { enabledMailbox } from "../support/mailboxes.js";
import { Pop3TestServer } from "../support/pop3-server.js";
import { pollMailbox } from "../../shared/sync/incoming/pollMailbox.js";

/** A store in memory that counts reads (a fake so the test can change a value behind the cache). */
function countingStore(): SecretStore & { values: Map<string, string>; reads: number } {
  const values = new Map<string, string>();
  const store = {
    kind: "embedded" as const, values, reads: 0,
    get(name: string) {
      store.reads++;
      const v = values.get(name);
      return v === undefined ? Promise.reject(new AppError("SECRET_NOT_FOUND", `no secret ${name}`)) : Promise.resolve(v);
    },
    tryGet: (name: string) => Promise.resolve(values.get(name)),
    set: (name: string, value: string) => { values.set(name, value); return Promise.resolve(); },
    delete: (name: string) => { values.delete(name); return Promise.resolve(); },
    check: () => Promise.resolve(),
  };
  return store;
}

describe("CachedSecretStore", () => {
  let now = Date.parse("2026-12-03T09:00:00Z");
  const clock = { now: () => new Date(now) };

  it("reads a value once within the TTL, and again after it", async () => {
    const inner = countingStore();
    inner.values.set("a", "one");
    const cache = new CachedSecretStore(inner, clock);
    assert.deepEqual([await cache.get("a"), await cache.get("a")], ["one", "one"]);
    assert.equal(inner.reads, 1);
    inner.values.set("a", "changed by hand");
    now += SECRET_CACHE_TTL_MS - 1;
    assert.equal(await cache.get("a"), "one");
    now += 1;
    assert.equal(await cache.get("a"), "changed by hand");
    assert.equal(inner.reads, 2);
  });

  it("never serves a value it was told changed: set, delete and forget drop it", async () => {
    const inner = countingStore();
    const cache = new CachedSecretStore(inner, clock);
    await cache.set("b", "v1");
    assert.equal(await cache.get("b"), "v1");
    await cache.set("b", "v2");
    assert.equal(await cache.get("b"), "v2");
    inner.values.set("b", "v3");
    cache.forget("b");
    assert.equal(await cache.get("b"), "v3");
    await cache.delete("b");
    await assert.rejects(cache.get("b"), (err: unknown) => err instanceof AppError && err.code === "SECRET_NOT_FOUND");
  });

  it("a failed read caches nothing, and the number of values held is bounded (oldest first)", async () => {
    const inner = countingStore();
    const cache = new CachedSecretStore(inner, clock, SECRET_CACHE_TTL_MS, 2);
    await assert.rejects(cache.get("missing"));
    await assert.rejects(cache.get("missing"));
    assert.equal(inner.reads, 2);
    for (const n of ["x", "y", "z"]) inner.values.set(n, n);
    for (const n of ["x", "y", "z"]) await cache.get(n);
    inner.reads = 0;
    await cache.get("z");
    await cache.get("y");
    assert.equal(inner.reads, 0, "the newest two are held");
    await cache.get("x");
    assert.equal(inner.reads, 1, "the oldest was evicted");
  });
});

describe("polls and the secret cache", () => {
  let app: TestApp;
  before(async () => { app = await startTestApp(); });
  after(async () => { await app?.stop(); });

  test("two polls read the password once; a password changed in the vault by hand applies after the refused login", async () => {
    const server = await Pop3TestServer.start({ messages: [] });
    try {
      const { mailboxId } = await enabledMailbox(app, { port: server.port, address: "cached@contoso.test" });
      const secrets = app.services.secrets;
      const inner = (secrets as unknown as { inner: SecretStore }).inner;
      const get = inner.get.bind(inner);
      let reads = 0;
      inner.get = async (name) => { reads++; return get(name); };
      try {
        assert.equal((await pollMailbox(app.services, mailboxId)).status, "done");
        assert.equal((await pollMailbox(app.services, mailboxId)).status, "done");
        assert.equal(reads, 1, "the second poll used the held value");
        // Someone rotates the password on the server and in the vault, under the same name.
        const name = (await app.services.repos.mailboxes.require(mailboxId)).doc.credentials?.secretName ?? "";
        await inner.set(name, "rotated-Pa55");
        server.options.password = "rotated-Pa55";
        const refused = await pollMailbox(app.services, mailboxId);
        assert.ok(refused.status === "failed" && refused.code === "AUTH_FAILED", JSON.stringify(refused));
        // The refusal disabled the mailbox (a permanent error); the admin enables it again.
        await app.services.repos.mailboxes.update(mailboxId, (m) => ({ ...m, incoming: { ...m.incoming, postponedUntil: null, enabled: true } }));
        assert.equal((await pollMailbox(app.services, mailboxId)).status, "done", "the next poll read the new value");
        assert.equal(reads, 2);
      } finally {
        inner.get = get;
      }
    } finally {
      await server.close();
    }
  });
});
