/**
 * @module Start-up migration of the emails table to its partitioned layout (decision 0027).
 * Activities stored before it keep their ids and their document rows in LEGACY_PARTITION (an id
 * says where its document is); their unique and lookup rows are written again where the new
 * layout looks for them (computed from each document, so even keys stored as hashes land right),
 * and only then are the old index rows removed. Every step is an idempotent upsert or delete, so a
 * start that dies halfway is finished by the next; a marker row makes later starts one read.
 * Mail that arrives during the migration is not waited for: ensureStorage runs before any
 * function of this instance, and instances of the old version write nothing new in the old place.
 */
import { RestError, type TableClient } from "@azure/data-tables";
import type { StorageClients } from "./clients.js";
import { rowKeyPrefixFilter, storageError } from "./documentTable.js";
import { createEmailTable, LEGACY_PARTITION } from "./emailStore.js";
import { TABLES } from "./names.js";
import { migrationMarker } from "./migrationMarker.js";

export const EMAIL_LAYOUT_VERSION = 1;
/** Documents re-indexed at once. */
const IN_FLIGHT = 16;

async function keysOf(table: TableClient, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  const filter = `PartitionKey eq '${LEGACY_PARTITION}' and ${rowKeyPrefixFilter(prefix)}`;
  for await (const e of table.listEntities({ queryOptions: { filter, select: ["RowKey"] } })) if (e.rowKey) keys.push(e.rowKey);
  return keys;
}

/** Moves the legacy index rows; returns how many documents it re-indexed (0 once done). */
export async function partitionEmails(clients: StorageClients): Promise<number> {
  const table = clients.table(TABLES.emails);
  try {
    const marker = migrationMarker(table, "emailPartitionsVersion");
    if ((await marker.done()) >= EMAIL_LAYOUT_VERSION) return 0;
    const emails = createEmailTable(table);
    const ids = (await keysOf(table, "e:")).map((rowKey) => emails.idOfRow(rowKey));
    for (let i = 0; i < ids.length; i += IN_FLIGHT) {
      await Promise.all(ids.slice(i, i + IN_FLIGHT).map(async (id) => {
        const found = await emails.get(id);
        if (found) await emails.writeRows(emails.indexRowsOf(found.doc));
      }));
    }
    // Only now: a reader meanwhile found the old rows where it looked before.
    const old = [...(await keysOf(table, "u:")), ...(await keysOf(table, "l:"))];
    for (let i = 0; i < old.length; i += 100) {
      const chunk = old.slice(i, i + 100);
      try {
        await table.submitTransaction(chunk.map((rowKey) => ["delete", { partitionKey: LEGACY_PARTITION, rowKey }]));
      } catch {
        // Another instance deleted some meanwhile (a transaction fails as a whole): one by one.
        for (const rowKey of chunk) await table.deleteEntity(LEGACY_PARTITION, rowKey).catch((err: unknown) => {
          if (!(err instanceof RestError && err.statusCode === 404)) throw err;
        });
      }
    }
    await marker.finish(EMAIL_LAYOUT_VERSION);
    return ids.length;
  } catch (err) {
    throw storageError(err);
  }
}
