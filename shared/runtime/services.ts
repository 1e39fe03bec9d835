/**
 * @module The app's dependencies, built once per process from app settings: storage clients,
 * repositories, the secret store, the clock and the logger. Function handlers ask for them with
 * `getServices()`; tests build their own with `createServices` and install them with `setServices`.
 */
import { loadAppSettings, storageTarget, type AppSettings } from "../config/appSettings.js";
import { createStorageClients, type StorageClients } from "../storage/clients.js";
import { createRepositories, type Repositories } from "../storage/repositories.js";
import { ensureStorage } from "../storage/ensureStorage.js";
import { SettingsStore } from "../storage/settingsStore.js";
import { AlertStore } from "../storage/alertStore.js";
import { JobStore } from "../storage/jobStore.js";
import { TABLES } from "../storage/names.js";
import { createSecretStore, type SecretStore } from "../secrets/index.js";
import { CachedSecretStore } from "../secrets/cachedStore.js";
import { systemClock, type Clock } from "./clock.js";
import { createEmailTable } from "../storage/emailStore.js";
import { RawStore } from "../storage/rawStore.js";
import { CONTAINERS } from "../storage/names.js";
import { LeaseTable } from "../coordination/lease.js";
import { ConnectionSlots } from "../coordination/connectionSlots.js";
import { DueIndex } from "../coordination/dueIndex.js";
import { createQueueSender, type QueueSender } from "./queueSender.js";
import type { DocumentTable } from "../storage/documentTable.js";
import type { EmailActivity } from "../domain/email.js";
import { createLogger, type Logger } from "./logger.js";
import { OAuthTokenSource } from "../oauth/tokenSource.js";

export interface Services {
  appSettings: AppSettings;
  storage: StorageClients;
  repos: Repositories;
  settings: SettingsStore;
  alerts: AlertStore;
  jobs: JobStore;
  emails: DocumentTable<EmailActivity>;
  raw: RawStore;
  leases: LeaseTable;
  slots: ConnectionSlots;
  due: DueIndex;
  queue: QueueSender;
  secrets: SecretStore;
  /** Access tokens for profiles that log in with XOAUTH2, cached per client. */
  oauth: OAuthTokenSource;
  clock: Clock;
  log: Logger;
}

export interface ServiceOverrides {
  clock?: Clock;
  log?: Logger;
  secrets?: SecretStore;
}

export async function createServices(appSettings: AppSettings, overrides: ServiceOverrides = {}): Promise<Services> {
  const storage = createStorageClients(storageTarget(appSettings));
  await ensureStorage(storage);
  const clock = overrides.clock ?? systemClock;
  const leases = new LeaseTable(storage.table(TABLES.coordination), clock);
  return {
    appSettings,
    storage,
    repos: createRepositories(storage),
    settings: new SettingsStore(storage.table(TABLES.settings)),
    alerts: new AlertStore(storage.table(TABLES.alerts)),
    jobs: new JobStore(storage.table(TABLES.jobs)),
    emails: createEmailTable(storage.table(TABLES.emails)),
    raw: new RawStore(storage.blobs.getContainerClient(CONTAINERS.rawMessages)),
    leases,
    slots: new ConnectionSlots(leases),
    due: new DueIndex(storage.table(TABLES.coordination)),
    queue: createQueueSender(storage.queues),
    secrets: overrides.secrets ?? new CachedSecretStore(createSecretStore(appSettings, storage), clock),
    oauth: new OAuthTokenSource(clock),
    clock,
    log: overrides.log ?? createLogger({ level: appSettings.LOG_LEVEL }),
  };
}

let current: Promise<Services> | undefined;

/** The process-wide services, created from the environment on first use. */
export function getServices(): Promise<Services> {
  current ??= createServices(loadAppSettings()).catch((err: unknown) => {
    current = undefined; // let the next call retry (storage may come up later)
    throw err;
  });
  return current;
}

export function setServices(services: Services | undefined): void {
  current = services ? Promise.resolve(services) : undefined;
}
