import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { startAzurite, connectionStringFor, freePort, type AzuriteInstance } from "../../shared/runtime/azurite.js";
import { createStorageClients } from "../../shared/storage/clients.js";
import { ensureStorage } from "../../shared/storage/ensureStorage.js";
import { createSecretStore } from "../../shared/secrets/index.js";
import { loadAppSettings } from "../../shared/config/appSettings.js";
import { checkHealth } from "../../shared/runtime/health.js";

let azurite: AzuriteInstance;
before(async () => { azurite = await startAzurite(); });
after(async () => { await azurite?.stop(); });

const depsFor = (cs: string) => {
  const settings = loadAppSettings({ AzureWebJobsStorage: cs, LOCAL_SECRETS_KEY: randomBytes(32).toString("base64") });
  const storage = createStorageClients({ kind: "connectionString", connectionString: cs });
  return { storage, secrets: createSecretStore(settings, storage) };
};

test("health names every check ok when storage answers", async () => {
  const deps = depsFor(azurite.connectionString);
  await ensureStorage(deps.storage);
  assert.deepEqual(await checkHealth(deps), { status: "ok", checks: { tables: "ok", queues: "ok", blobs: "ok", secrets: "ok" } });
});

test("health names the failing checks when storage is down", async () => {
  const dead = await freePort();
  // Blobs and queues on the live Azurite, tables on a port where nothing listens.
  const cs = connectionStringFor(azurite.blobPort, azurite.queuePort, dead);
  const report = await checkHealth(depsFor(cs));
  assert.equal(report.status, "unhealthy");
  assert.equal(report.checks.tables, "failed");
  assert.equal(report.checks.secrets, "failed", "the embedded secret store lives in a table");
  assert.equal(report.checks.blobs, "ok");
  assert.equal(report.checks.queues, "ok");
});
