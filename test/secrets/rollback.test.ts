/**
 * The secret side of "no side effects on refusal" (shared/admin/credentials.ts), against an
 * in-memory store: all or nothing when writing, the request's own secrets deleted when the save
 * fails, and kept when the save's outcome is unknown and the entity does point at them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { AppError } from "../../shared/errors.js";
import type { SecretStore } from "../../shared/secrets/index.js";
import { freshSecretName, planCredentials, withSecrets, writeSecrets } from "../../shared/admin/credentials.js";

function memoryStore(failOn?: string): SecretStore & { values: Map<string, string> } {
  const values = new Map<string, string>();
  return {
    kind: "embedded", values,
    set(name, value) {
      if (name === failOn) return Promise.reject(new AppError("SECRET_STORE_UNAVAILABLE", "down"));
      values.set(name, value);
      return Promise.resolve();
    },
    get: (name) => Promise.resolve(values.get(name)!),
    tryGet: (name) => Promise.resolve(values.get(name)),
    delete: (name) => Promise.resolve(void values.delete(name)),
    check: () => Promise.resolve(),
  };
}

test("a password gets a fresh name; the stored one is superseded, never overwritten", () => {
  const name = freshSecretName("mbx-1-cred");
  assert.match(name, /^mbx-1-cred-[0-9a-f]{8}$/);
  assert.notEqual(freshSecretName("mbx-1-cred"), name);
  const planned = planCredentials({ userName: "a", secretName: "mbx-1-cred-old" }, { userName: "a", password: "p" }, name);
  assert.deepEqual(planned, { value: { userName: "a", secretName: name }, write: { name, value: "p" }, superseded: "mbx-1-cred-old", kept: false });
  assert.equal(planCredentials({ userName: "a", secretName: "s" }, { userName: "b" }, name).kept, true);
  assert.equal(planCredentials({ userName: "a", secretName: "s" }, null, name).superseded, "s");
});

test("writes are all or nothing", async () => {
  const store = memoryStore("b");
  await assert.rejects(writeSecrets(store, [{ name: "a", value: "1" }, { name: "b", value: "2" }, { name: "c", value: "3" }]));
  assert.deepEqual([...store.values.keys()], []);
});

test("a refused save deletes the secrets the request wrote; an unknown outcome keeps those the entity points at", async () => {
  const store = memoryStore();
  store.values.set("old", "kept");
  await assert.rejects(withSecrets(store, [{ name: "new", value: "v" }], () => Promise.reject(new AppError("CONFLICT", "taken")), () => Promise.resolve(["new"])));
  assert.deepEqual([...store.values.keys()], ["old"], "a 409 is a clear refusal: deleted without asking");

  await assert.rejects(withSecrets(store, [{ name: "landed", value: "v" }], () => Promise.reject(new AppError("STORAGE_UNAVAILABLE", "lost reply")), () => Promise.resolve(["landed"])));
  assert.ok(store.values.has("landed"), "the commit landed: the entity points at it");
  await assert.rejects(withSecrets(store, [{ name: "lost", value: "v" }], () => Promise.reject(new AppError("STORAGE_UNAVAILABLE", "down")), () => Promise.resolve(["old"])));
  assert.ok(!store.values.has("lost"));
  assert.equal(await withSecrets(store, [null, { name: "ok", value: "v" }], () => Promise.resolve(42), () => Promise.resolve([])), 42);
  assert.equal(store.values.get("ok"), "v");
});
