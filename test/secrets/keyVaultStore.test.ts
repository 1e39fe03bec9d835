import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { TokenCredential } from "@azure/identity";
import { loadAppSettings } from "../../shared/config/appSettings.js";
import { AppError } from "../../shared/errors.js";
import { createSecretStore, type SecretStore } from "../../shared/secrets/index.js";
import { createStorageClients } from "../../shared/storage/clients.js";
import { startFakeKeyVault, type FakeKeyVault, type FakeKeyVaultOptions } from "../support/keyvault-server.js";
import { assertNoSecretIn, rejection } from "./leak.js";

/** Never contacted: the Key Vault store does not use Storage. */
const clients = createStorageClients({ kind: "connectionString", connectionString: "UseDevelopmentStorage=true" });

function storeFor(kv: FakeKeyVault, opts: { credential?: TokenCredential; conflictRetryDelaysMs?: number[] } = {}): SecretStore {
  return createSecretStore(loadAppSettings({ KEY_VAULT_URL: kv.url }), clients, {
    credential: opts.credential ?? kv.credential,
    keyVaultClientOptions: kv.clientOptions(),
    keyVault: { conflictRetryDelaysMs: opts.conflictRetryDelaysMs ?? [20, 40, 80, 160], checkTimeoutMs: 2000 },
  });
}

const isCode = (code: string, transient?: boolean) => (err: unknown): boolean =>
  err instanceof AppError && err.code === code && (transient === undefined || err.transient === transient);

async function withVault(options: FakeKeyVaultOptions, fn: (kv: FakeKeyVault) => Promise<void>): Promise<void> {
  const kv = await startFakeKeyVault(options);
  try {
    await fn(kv);
  } finally {
    await kv.stop();
  }
}

describe("Key Vault secret store (against a fake vault over HTTPS)", () => {
  let kv: FakeKeyVault;
  let store: SecretStore;

  before(async () => {
    kv = await startFakeKeyVault();
    store = storeFor(kv);
  });
  after(() => kv.stop());

  it("is chosen when KEY_VAULT_URL is set, answers the bearer challenge and round-trips a value", async () => {
    assert.equal(store.kind, "keyVault");
    await store.set("mbx-11111111-1111-4111-8111-111111111111-in", "p@ss wörd");
    assert.equal(await store.get("mbx-11111111-1111-4111-8111-111111111111-in"), "p@ss wörd");
    assert.equal(await store.tryGet("mbx-11111111-1111-4111-8111-111111111111-in"), "p@ss wörd");
    assert.equal(kv.requests[0]?.authorized, false, "the first request is the unauthenticated challenge probe");
    assert.ok(kv.requests.slice(1).every((r) => r.authorized && r.apiVersion !== null));
  });

  it("overwrites a value as a new version", async () => {
    await store.set("prf-2-out", "first");
    await store.set("prf-2-out", "second");
    assert.equal(await store.get("prf-2-out"), "second");
    assert.equal(kv.versions("prf-2-out").length, 2);
  });

  it("compares names case-insensitively", async () => {
    await store.set("MBX-Case-In", "any case");
    assert.equal(await store.get("mbx-case-in"), "any case");
  });

  it("returns undefined from tryGet and SECRET_NOT_FOUND from get for a missing name", async () => {
    assert.equal(await store.tryGet("mbx-missing-in"), undefined);
    await assert.rejects(store.get("mbx-missing-in"), isCode("SECRET_NOT_FOUND", false));
  });

  it("soft-deletes without waiting, and deleting a missing name is not an error", async () => {
    await store.set("mbx-3-in", "v");
    await store.delete("mbx-3-in");
    assert.equal(kv.state("mbx-3-in"), "deleted");
    assert.equal(await store.tryGet("mbx-3-in"), undefined);
    await store.delete("mbx-3-in");
    await store.delete("mbx-never-existed-in");
  });

  it("sets a soft-deleted name again by recovering it and writing a new version", async () => {
    await store.set("mbx-4-in", "old");
    await store.delete("mbx-4-in");
    await store.set("mbx-4-in", "new");
    assert.equal(await store.get("mbx-4-in"), "new");
    assert.equal(kv.state("mbx-4-in"), "active");
    assert.ok(kv.requests.some((r) => r.method === "POST" && r.path === "/deletedsecrets/mbx-4-in/recover"));
  });

  it("rejects invalid names before any request", async () => {
    const sent = kv.requests.length;
    for (const op of [() => store.set("bad_name", "v"), () => store.get("a.b"), () => store.tryGet(""), () => store.delete("x".repeat(128))]) {
      await assert.rejects(op(), isCode("VALIDATION_FAILED"));
    }
    assert.equal(kv.requests.length, sent);
  });

  it("check() passes while the vault answers (a missing probe secret is fine)", async () => {
    await store.check();
  });

  it("maps 503 and reset connections to transient SECRET_STORE_UNAVAILABLE, without the value", async () => {
    const value = "value-that-must-not-leak-503";
    try {
      for (const failure of [503, 429, "reset"] as const) {
        kv.failWith(failure);
        for (const op of [() => store.set("mbx-5-in", value), () => store.get("mbx-5-in"), () => store.delete("mbx-5-in"), () => store.check()]) {
          const err = await rejection(op);
          assert.ok(isCode("SECRET_STORE_UNAVAILABLE", true)(err), `${String(failure)}: ${String(err)}`);
          assertNoSecretIn(err, value);
        }
      }
      kv.failWith(400);
      const err = await rejection(() => store.set("mbx-5-in", value));
      assert.ok(isCode("SECRET_STORE_UNAVAILABLE", false)(err), "a 400 will not succeed on retry");
      assertNoSecretIn(err, value);
    } finally {
      kv.failWith(undefined);
    }
    await store.set("mbx-5-in", value);
    assert.equal(await store.get("mbx-5-in"), value);
  });
});

describe("Key Vault secret store: harder cases", () => {
  it("waits out a deletion still in progress (409 Conflict) before recovering", async () => {
    await withVault({ deleteLatencyMs: 150, recoverLatencyMs: 50 }, async (kv) => {
      const store = storeFor(kv, { conflictRetryDelaysMs: [25, 50, 100, 200, 400] });
      await store.set("mbx-6-in", "old");
      await store.delete("mbx-6-in");
      assert.equal(kv.state("mbx-6-in"), "deleting");
      await store.set("mbx-6-in", "new");
      assert.equal(await store.get("mbx-6-in"), "new");
    });
  });

  it("gives up with a transient error when the name stays held, without the value", async () => {
    await withVault({ deleteLatencyMs: 60_000 }, async (kv) => {
      const store = storeFor(kv, { conflictRetryDelaysMs: [10, 10] });
      await store.set("mbx-7-in", "old");
      await store.delete("mbx-7-in");
      const err = await rejection(() => store.set("mbx-7-in", "new-value-held"));
      assert.ok(isCode("SECRET_STORE_UNAVAILABLE", true)(err), String(err));
      assertNoSecretIn(err, "new-value-held");
    });
  });

  it("fails with SECRET_STORE_UNAVAILABLE (transient) when the server is down, and check() fails too", async () => {
    const kv = await startFakeKeyVault();
    const store = storeFor(kv);
    await store.set("mbx-8-in", "v");
    await kv.stop();
    for (const op of [() => store.get("mbx-8-in"), () => store.set("mbx-8-in", "down-value"), () => store.check()]) {
      const err = await rejection(op);
      assert.ok(isCode("SECRET_STORE_UNAVAILABLE", true)(err), String(err));
      assertNoSecretIn(err, "down-value");
    }
  });

  it("reports a token the vault refuses as SECRET_STORE_UNAVAILABLE naming access", async () => {
    await withVault({}, async (kv) => {
      const wrongToken: TokenCredential = { getToken: () => Promise.resolve({ token: "wrong", expiresOnTimestamp: Date.now() + 3_600_000 }) };
      const err = await rejection(() => storeFor(kv, { credential: wrongToken }).set("mbx-9-in", "refused-value"));
      assert.ok(isCode("SECRET_STORE_UNAVAILABLE")(err) && /access/.test((err as AppError).message), String(err));
      assertNoSecretIn(err, "refused-value");
    });
  });
});
