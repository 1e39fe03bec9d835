/**
 * @module Creates every table, queue and container the app uses when missing, then brings mailbox
 * rows of an older index version up to date (reindexMailboxes.ts) and emails stored before their
 * partitioned layout into it (partitionEmails.ts). Idempotent and cheap enough to
 * run on every cold start (one read once the reindex is done); infra/ creates the same names
 * ahead of time in Azure.
 */
import { RestError } from "@azure/data-tables";
import type { StorageClients } from "./clients.js";
import { ALL_CONTAINERS, ALL_QUEUES, ALL_TABLES } from "./names.js";
import { storageError } from "./documentTable.js";
import { reindexMailboxes } from "./reindexMailboxes.js";
import { partitionEmails } from "./partitionEmails.js";

const alreadyExists = (err: unknown): boolean => err instanceof RestError && err.statusCode === 409;

export async function ensureStorage(clients: StorageClients): Promise<void> {
  try {
    await Promise.all([
      ...ALL_TABLES.map(async (t) => {
        try { await clients.tables.createTable(t); } catch (err) { if (!alreadyExists(err)) throw err; }
      }),
      ...ALL_QUEUES.map((q) => clients.queues.getQueueClient(q).createIfNotExists()),
      ...ALL_CONTAINERS.map((c) => clients.blobs.getContainerClient(c).createIfNotExists()),
    ]);
  } catch (err) {
    throw storageError(err);
  }
  await reindexMailboxes(clients);
  await partitionEmails(clients);
}
