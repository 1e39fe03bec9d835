/**
 * @module Dependency checks for GET /api/health. Each check runs on its own with a deadline, so a
 * dead dependency is named instead of making the whole check hang; it builds its own clients so it
 * still answers when start-up (creating tables and queues) could not finish.
 *
 * One round costs four backend calls (a Key Vault read among them), and the route needs no key:
 * HealthCache makes the anonymous answer cost at most one round per HEALTH_CACHE_MS, whatever the
 * request rate, with concurrent callers sharing one round in flight.
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
/** What a round that could not even start reports (settings unreadable, say). */
export const ALL_FAILED: HealthReport = { status: "unhealthy", checks: { tables: "failed", queues: "failed", blobs: "failed", secrets: "failed" } };

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

/** How old a result an anonymous health request may get: at most one backend round per 30 s. */
export const HEALTH_CACHE_MS = 30_000;

interface Cached {
  report: HealthReport;
  at: number;
}

/**
 * The last health result and the round in flight. `cached()` answers from a result at most
 * `maxAgeMs` old, or joins the round in flight, or starts one; `fresh()` joins the round in flight
 * or starts one (its result then serves `cached()` too). So however many requests arrive, and
 * whoever sends them, no more than one round runs at a time, and anonymous requests start at most
 * one per `maxAgeMs`.
 */
export class HealthCache {
  private last: Cached | undefined;
  private inFlight: Promise<HealthReport> | undefined;

  constructor(
    private readonly check: () => Promise<HealthReport>,
    private readonly now: () => number = Date.now,
    private readonly maxAgeMs = HEALTH_CACHE_MS,
  ) {}

  cached(): Promise<HealthReport> {
    const last = this.last;
    if (last && this.now() - last.at < this.maxAgeMs) return Promise.resolve(last.report);
    return this.fresh();
  }

  fresh(): Promise<HealthReport> {
    if (!this.inFlight) {
      const startedAt = this.now();
      // A round that throws counts as a failed round: it must not leave the cache empty, or every
      // anonymous request would start another one.
      this.inFlight = this.check()
        .catch((): HealthReport => ALL_FAILED)
        .then((report) => {
          this.last = { report, at: startedAt };
          return report;
        })
        .finally(() => { this.inFlight = undefined; });
    }
    return this.inFlight;
  }
}
