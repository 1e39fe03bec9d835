import { after, before, describe, it, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { startAzurite, connectionStringFor, freePort, type AzuriteInstance } from "../../shared/runtime/azurite.js";
import { createStorageClients } from "../../shared/storage/clients.js";
import { ensureStorage } from "../../shared/storage/ensureStorage.js";
import { createSecretStore } from "../../shared/secrets/index.js";
import { loadAppSettings } from "../../shared/config/appSettings.js";
import { ALL_FAILED, checkHealth, HEALTH_CACHE_MS, HealthCache } from "../../shared/runtime/health.js";
import { createHealthRoute } from "../../functions/health.js";
import { ADMIN_KEY, MASTER_KEY, startTestApp, type TestApp } from "../support/app.js";

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

// --- Issue 10, point 6: health is cheap and tells nothing to strangers. ---

/** Real checks against Azurite, with every round and every secret-store read counted. */
function counted(deps: ReturnType<typeof depsFor>) {
  const calls = { rounds: 0, secretReads: 0 };
  const secrets = deps.secrets;
  const countingSecrets = new Proxy(secrets, {
    get: (target, prop, receiver) => (prop === "check"
      ? () => { calls.secretReads++; return target.check(); }
      : Reflect.get(target, prop, receiver)),
  });
  const check = () => { calls.rounds++; return checkHealth({ storage: deps.storage, secrets: countingSecrets }); };
  return { calls, check };
}

test("HealthCache: concurrent callers share one round; one round per 30 s for cached(), fresh() always asks", async () => {
  let now = 1_000_000;
  let rounds = 0;
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => { release = r; });
  const cache = new HealthCache(async () => { rounds++; await gate; return ALL_FAILED; }, () => now);
  const pending = Array.from({ length: 200 }, () => cache.cached());
  pending.push(cache.fresh());
  release();
  await Promise.all(pending);
  assert.equal(rounds, 1, "200 concurrent requests and a keyed one share the round in flight");
  for (let i = 0; i < 200; i++) await cache.cached();
  now += HEALTH_CACHE_MS - 1;
  await cache.cached();
  assert.equal(rounds, 1, "a result younger than 30 s answers");
  now += 1;
  await cache.cached();
  assert.equal(rounds, 2, "30 s after the last round started, the next request starts one");
  await cache.fresh();
  assert.equal(rounds, 3, "a keyed request gets a fresh round");
  const failing = new HealthCache(() => Promise.reject(new Error("settings unreadable")), () => now);
  assert.equal((await failing.cached()).status, "unhealthy", "a round that throws is a failed round, cached like any other");
});

describe("GET /api/health over HTTP", () => {
  let app: TestApp;
  let calls: { rounds: number; secretReads: number };
  let failing = false;
  before(async () => {
    const deps = depsFor(azurite.connectionString);
    await ensureStorage(deps.storage);
    const c = counted(deps);
    calls = c.calls;
    const check = () => (failing ? Promise.resolve({ ...ALL_FAILED, checks: { ...ALL_FAILED.checks, queues: "ok" as const } }) : c.check());
    app = await startTestApp({ definitions: [createHealthRoute({ check })] });
  });
  after(async () => { await app?.stop(); });

  it("200 anonymous requests cost at most one backend round, and answer the status alone", async () => {
    const before = { ...calls };
    const answers = [];
    // 100 at once, then 100 one after another.
    answers.push(...await Promise.all(Array.from({ length: 100 }, () => app.call("GET", "/api/health", { key: null }))));
    for (let i = 0; i < 100; i++) answers.push(await app.call("GET", "/api/health", { key: null }));
    assert.ok(calls.rounds - before.rounds <= 1, `rounds: ${calls.rounds - before.rounds}`);
    assert.ok(calls.secretReads - before.secretReads <= 1, `secret store reads: ${calls.secretReads - before.secretReads}`);
    for (const a of answers) {
      assert.equal(a.status, 200);
      assert.equal(a.text, '{"status":"ok"}');
    }
  });

  it("a key gets a fresh round with every check named; a wrong key is 401; a forged principal is a stranger", async () => {
    for (const key of [ADMIN_KEY, MASTER_KEY]) {
      const rounds = calls.rounds;
      const res = await app.call("GET", "/api/health", { key });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { status: "ok", checks: { tables: "ok", queues: "ok", blobs: "ok", secrets: "ok" } });
      assert.equal(calls.rounds, rounds + 1);
    }
    const viaCode = await app.call("GET", `/api/health?code=${encodeURIComponent(ADMIN_KEY)}`, { key: null });
    assert.ok(viaCode.body.checks, viaCode.text);
    const wrong = await app.call("GET", "/api/health", { key: "wrong-key-000" });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error.code, "UNAUTHORIZED");
    const principal = Buffer.from(JSON.stringify({ claims: [{ typ: "roles", val: "Email.Admin" }] })).toString("base64");
    const forged = await app.call("GET", "/api/health", { key: null, headers: { "x-ms-client-principal": principal } });
    assert.equal(forged.text, '{"status":"ok"}', "without Easy Auth the header proves nothing");
    process.env.WEBSITE_AUTH_ENABLED = "true";
    try {
      const signedIn = await app.call("GET", "/api/health", { key: null, headers: { "x-ms-client-principal": principal } });
      assert.ok(signedIn.body.checks, signedIn.text);
    } finally {
      delete process.env.WEBSITE_AUTH_ENABLED;
    }
  });

  it("when a dependency is down: strangers get 503 unavailable, a key gets the failing checks", async () => {
    failing = true;
    try {
      const keyed = await app.call("GET", "/api/health", { key: ADMIN_KEY });
      assert.equal(keyed.status, 503);
      assert.deepEqual(keyed.body, { status: "unhealthy", checks: { tables: "failed", queues: "ok", blobs: "failed", secrets: "failed" } });
      // The keyed round refreshed the cached result the strangers get.
      const anonymous = await app.call("GET", "/api/health", { key: null });
      assert.equal(anonymous.status, 503);
      assert.equal(anonymous.text, '{"status":"unavailable"}');
    } finally {
      failing = false;
    }
  });
});
