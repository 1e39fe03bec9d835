/**
 * @module What every crash point shares: one Azurite, the parent's own services on it (talking to
 * Azurite directly, never through a crash proxy) and the pool of app children.
 * The parent's clock runs two hours ahead, so the clean runs after a crash find the dead child's
 * leases (5 and 10 minutes) and postponements (5 minutes) expired, as a later invocation would.
 */
import { randomBytes } from "node:crypto";
import { startAzurite, type AzuriteInstance } from "../../shared/runtime/azurite.js";
import { loadAppSettings } from "../../shared/config/appSettings.js";
import { createServices, type Services } from "../../shared/runtime/services.js";
import { createLogger } from "../../shared/runtime/logger.js";
import { ChildPool, childCommand } from "./childPool.js";

export const CLEAN_RUN_AHEAD_MS = 2 * 60 * 60_000;

export interface CrashEnv {
  azurite: AzuriteInstance;
  services: Services;
  pool: ChildPool;
  stop(): Promise<void>;
}

export async function startCrashEnv(): Promise<CrashEnv> {
  const azurite = await startAzurite();
  const secretsKey = randomBytes(32).toString("base64");
  const services = await createServices(
    loadAppSettings({ AzureWebJobsStorage: azurite.connectionString, LOCAL_SECRETS_KEY: secretsKey }),
    { log: createLogger({ level: "silent" }), clock: { now: () => new Date(Date.now() + CLEAN_RUN_AHEAD_MS) } },
  );
  const pool = new ChildPool(azurite, secretsKey, await childCommand(), Number(process.env.CRASH_WARM ?? 2));
  return {
    azurite, services, pool,
    async stop() {
      await pool.close();
      await azurite.stop();
    },
  };
}
