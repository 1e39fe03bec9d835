/**
 * @module Dependency checks for GET /api/health. Each check runs on its own with a deadline, so a
 * dead dependency is named instead of making the whole check hang; it builds its own clients so it
 * still answers when start-up (creating tables and queues) could not finish.
 */
import { loadAppSettings } from "../config/appSettings.js";
import { storageTarget } from "../config/appSettings.js";
import { createStorageClients, type StorageClients } from "../storage/clients.js";
import { CONTAINERS, QUEUES, TABLES } from "../storage/names.js";
import { createSecretStore, type SecretStore } from "../secrets/index.js";

export type CheckName = "tables" | "queues" | "blobs" | "secrets";
export interface HealthReport {
  status: "ok" | "unhealthy";
  checks: Record<CheckName, "ok" | "failed">;
}

const DEADLINE_MS = 5000;

interface Deps {
  storage: StorageClients;
  secrets: SecretStore;
}

let cached: Deps | undefined;
function deps(): Deps {
  if (!cached) {
    const settings = loadAppSettings();
    const storage = createStorageClients(storageTarget(settings));
    cached = { storage, secrets: createSecretStore(settings, storage) };
  }
  return cached;
}

async function run(check: (signal: AbortSignal) => Promise<unknown>): Promise<"ok" | "failed"> {
  const signal = AbortSignal.timeout(DEADLINE_MS);
  try {
    await Promise.race([
      check(signal),
      new Promise((_, reject) => signal.addEventListener("abort", () => reject(new Error("deadline")), { once: true })),
    ]);
    return "ok";
  } catch {
    return "failed";
  }
}

export async function checkHealth(given?: Deps): Promise<HealthReport> {
  const { storage, secrets } = given ?? deps();
  const [tables, queues, blobs, secretsCheck] = await Promise.all([
    run((abortSignal) => storage.table(TABLES.settings).getAccessPolicy({ abortSignal })),
    run((abortSignal) => storage.queues.getQueueClient(QUEUES.incoming).getProperties({ abortSignal })),
    run((abortSignal) => storage.blobs.getContainerClient(CONTAINERS.rawMessages).getProperties({ abortSignal })),
    run(() => secrets.check()),
  ]);
  const checks = { tables, queues, blobs, secrets: secretsCheck };
  return { status: Object.values(checks).every((c) => c === "ok") ? "ok" : "unhealthy", checks };
}
