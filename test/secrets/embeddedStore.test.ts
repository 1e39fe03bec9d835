import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { TableClient } from "@azure/data-tables";
import { loadAppSettings, type AppSettings } from "../../shared/config/appSettings.js";
import { AppError } from "../../shared/errors.js";
import { connectionStringFor, freePort, startAzurite, type AzuriteInstance } from "../../shared/runtime/azurite.js";
import { createSecretStore, EmbeddedSecretStore, secretKeyFromBase64, type SecretStore } from "../../shared/secrets/index.js";
import { createStorageClients, type StorageClients } from "../../shared/storage/clients.js";
import { assertNoSecretIn, rejection } from "./leak.js";

const isCode = (code: string, transient?: boolean) => (err: unknown): boolean =>
  err instanceof AppError && err.code === code && (transient === undefined || err.transient === transient);
const newKeyBase64 = (): string => randomBytes(32).toString("base64");

describe("embedded secret store (AES-256-GCM in Azurite's table service)", () => {
  let azurite: AzuriteInstance;
  let clients: StorageClients;
  let settings: AppSettings;
  let store: SecretStore;
  let table: TableClient;

  before(async () => {
    azurite = await startAzurite();
    clients = createStorageClients({ kind: "connectionString", connectionString: azurite.connectionString });
    settings = loadAppSettings({ AzureWebJobsStorage: azurite.connectionString, LOCAL_SECRETS_KEY: newKeyBase64() });
    store = createSecretStore(settings, clients);
    table = clients.table("secrets");
  });
  after(() => azurite.stop());

  const raw = (name: string): Promise<Record<string, unknown>> => table.getEntity<Record<string, unknown>>("secret", name);

  it("is chosen without KEY_VAULT_URL, creates its table and round-trips a value", async () => {
    assert.equal(store.kind, "embedded");
    const tableNames = async (): Promise<string[]> => {
      const names: string[] = [];
      for await (const t of clients.tables.listTables()) names.push(t.name ?? "");
      return names;
    };
    assert.ok(!(await tableNames()).includes("secrets"));
    await store.set("mbx-1-in", "pässwörd 🔑");
    assert.ok((await tableNames()).includes("secrets"));
    assert.equal(await store.get("mbx-1-in"), "pässwörd 🔑");
    assert.equal(await store.tryGet("mbx-1-in"), "pässwörd 🔑");
  });

  it("overwrites, and deletes (a missing name is not an error)", async () => {
    await store.set("prf-2-out", "first");
    await store.set("prf-2-out", "second");
    assert.equal(await store.get("prf-2-out"), "second");
    await store.delete("prf-2-out");
    assert.equal(await store.tryGet("prf-2-out"), undefined);
    await store.delete("prf-2-out");
    await store.set("prf-2-out", "third");
    assert.equal(await store.get("prf-2-out"), "third");
  });

  it("compares names case-insensitively, as Key Vault does", async () => {
    await store.set("MBX-Case-In", "any case");
    assert.equal(await store.get("mbx-case-in"), "any case");
    assert.equal((await raw("mbx-case-in")).rowKey, "mbx-case-in");
    await store.delete("Mbx-CASE-in");
    assert.equal(await store.tryGet("MBX-CASE-IN"), undefined);
  });

  it("returns undefined from tryGet and SECRET_NOT_FOUND from get for a missing name", async () => {
    assert.equal(await store.tryGet("mbx-missing-in"), undefined);
    await assert.rejects(store.get("mbx-missing-in"), isCode("SECRET_NOT_FOUND", false));
  });

  it("stores only {format, keyId, iv, tag, ciphertext}: never the plaintext", async () => {
    const value = "correct horse battery staple";
    await store.set("mbx-3-in", value);
    const entity = await raw("mbx-3-in");
    const text = JSON.stringify(entity);
    for (const form of [value, Buffer.from(value).toString("base64"), Buffer.from(value).toString("hex")]) assert.ok(!text.includes(form));
    assert.equal(entity.format, 1);
    assert.match(String(entity.keyId), /^k1-[0-9a-f]{16}$/);
    for (const f of ["iv", "tag", "ciphertext"]) assert.equal(typeof entity[f], "string", f);
    await store.set("mbx-3-in", value);
    assert.notEqual((await raw("mbx-3-in")).iv, entity.iv, "a fresh IV per write");
  });

  it("fails with SECRET_DECRYPTION_FAILED under a different LOCAL_SECRETS_KEY", async () => {
    await store.set("mbx-4-in", "only-the-right-key");
    const other = createSecretStore({ ...settings, LOCAL_SECRETS_KEY: newKeyBase64() }, clients);
    await assert.rejects(other.get("mbx-4-in"), isCode("SECRET_DECRYPTION_FAILED", false));
    // Even with the key id forged to match, GCM authentication refuses the wrong key.
    const wrong = secretKeyFromBase64(newKeyBase64());
    const forged = new EmbeddedSecretStore(table, { key: { id: secretKeyFromBase64(settings.LOCAL_SECRETS_KEY!).id, bytes: wrong.bytes } });
    const err = await rejection(() => forged.get("mbx-4-in"));
    assert.ok(isCode("SECRET_DECRYPTION_FAILED", false)(err), String(err));
    assertNoSecretIn(err, "only-the-right-key");
  });

  it("reads rows written under a previous key once it is configured as one", async () => {
    const oldKey = secretKeyFromBase64(newKeyBase64());
    await new EmbeddedSecretStore(table, { key: oldKey }).set("mbx-5-in", "from-before-rotation");
    const rotated = new EmbeddedSecretStore(table, { key: secretKeyFromBase64(newKeyBase64()), previousKeys: [oldKey] });
    assert.equal(await rotated.get("mbx-5-in"), "from-before-rotation");
  });

  it("refuses a ciphertext copied to another row (the name is authenticated data)", async () => {
    await store.set("mbx-6-in", "belongs-to-six");
    const { partitionKey, format, keyId, iv, tag, ciphertext } = await raw("mbx-6-in");
    await table.upsertEntity({ partitionKey: partitionKey as string, rowKey: "mbx-7-in", format, keyId, iv, tag, ciphertext }, "Replace");
    const err = await rejection(() => store.get("mbx-7-in"));
    assert.ok(isCode("SECRET_DECRYPTION_FAILED")(err), String(err));
    assertNoSecretIn(err, "belongs-to-six");
  });

  it("refuses an altered or malformed row", async () => {
    await store.set("mbx-8-in", "tamper-me");
    const entity = await raw("mbx-8-in");
    const ct = Buffer.from(String(entity.ciphertext), "base64");
    ct[0] = (ct[0] ?? 0) ^ 0x80;
    await table.updateEntity({ partitionKey: "secret", rowKey: "mbx-8-in", ciphertext: ct.toString("base64") }, "Merge");
    await assert.rejects(store.get("mbx-8-in"), isCode("SECRET_DECRYPTION_FAILED"));
    await table.upsertEntity({ partitionKey: "secret", rowKey: "mbx-9-in", note: "no envelope" }, "Replace");
    await assert.rejects(store.get("mbx-9-in"), isCode("SECRET_DECRYPTION_FAILED"));
  });

  it("rejects invalid names", async () => {
    for (const op of [() => store.set("bad_name", "v"), () => store.get("a/b"), () => store.tryGet(""), () => store.delete("x".repeat(128))]) {
      await assert.rejects(op(), isCode("VALIDATION_FAILED"));
    }
  });

  it("check() passes while Storage answers", async () => {
    await store.check();
  });

  it("fails with transient SECRET_STORE_UNAVAILABLE, without the value, when Storage is down", async () => {
    const port = await freePort();
    const deadCs = connectionStringFor(port, port, port);
    // No SDK retries, so the outage shows at once rather than after the default back-off.
    const dead = new EmbeddedSecretStore(TableClient.fromConnectionString(deadCs, "secrets", { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } }), {
      key: secretKeyFromBase64(newKeyBase64()),
    });
    for (const op of [() => dead.set("mbx-10-in", "down-value"), () => dead.get("mbx-10-in"), () => dead.delete("mbx-10-in"), () => dead.check()]) {
      const err = await rejection(op);
      assert.ok(isCode("SECRET_STORE_UNAVAILABLE", true)(err), String(err));
      assertNoSecretIn(err, "down-value");
    }
    // With the SDK's default retries, check() still answers within its own time bound.
    const defaults = createSecretStore({ ...settings, AzureWebJobsStorage: deadCs }, createStorageClients({ kind: "connectionString", connectionString: deadCs }), {
      embedded: { checkTimeoutMs: 300 },
    });
    const started = Date.now();
    await assert.rejects(defaults.check(), isCode("SECRET_STORE_UNAVAILABLE", true));
    assert.ok(Date.now() - started < 2000, `check() took ${Date.now() - started} ms`);
  });

  it("refuses to start without KEY_VAULT_URL or LOCAL_SECRETS_KEY", () => {
    const withoutKey: AppSettings = { ...settings, LOCAL_SECRETS_KEY: undefined };
    assert.throws(() => createSecretStore(withoutKey, clients), isCode("CONFIGURATION_INVALID"));
  });
});
