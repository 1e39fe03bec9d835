/**
 * @module Start-up reindex of mailbox rows written before the current index properties existed
 * (storage/mailboxIndex.ts). A list filter is evaluated by Storage on the properties a row has,
 * so a row without `active` or `enabledForOutgoing` would never match one: such rows are read
 * (migrating the document on read) and written back, which writes every index property. A marker
 * row records the index version done, so later starts cost one read (decision 0016).
 */
import { AppError } from "../errors.js";
import type { StorageClients } from "./clients.js";
import { storageError, type DocumentTable } from "./documentTable.js";
import { INDEX_VERSION_PROPERTY, MAILBOX_INDEX_VERSION } from "./mailboxIndex.js";
import { createRepositories } from "./repositories.js";
import { TABLES } from "./names.js";
import { migrationMarker } from "./migrationMarker.js";
import type { Mailbox } from "../domain/mailbox.js";

/** Rewrites in flight at once: 10,000 old rows take seconds, not minutes, at the one start that does them. */
const IN_FLIGHT = 16;


/** Writes one row back in the current shape; a row changed or deleted meanwhile was indexed by that write. */
async function rewrite(repo: DocumentTable<Mailbox>, id: string): Promise<boolean> {
  const found = await repo.get(id);
  if (!found) return false;
  try {
    await repo.replace(found.doc, found.doc, found.etag);
    return true;
  } catch (err) {
    if (err instanceof AppError && (err.code === "PRECONDITION_FAILED" || err.code === "NOT_FOUND")) return false;
    throw err;
  }
}

/** Reindexes the rows of an older index version; returns how many it rewrote (0 once done). */
export async function reindexMailboxes(clients: StorageClients): Promise<number> {
  const table = clients.table(TABLES.mailboxes);
  try {
    const marker = migrationMarker(table, "mailboxIndexVersion");
    if ((await marker.done()) >= MAILBOX_INDEX_VERSION) return 0;
    const repo = createRepositories(clients).mailboxes;
    const filter = repo.documentsFilter();
    const stale: string[] = [];
    for await (const row of table.listEntities<Record<string, unknown>>({ queryOptions: { filter, select: ["RowKey", INDEX_VERSION_PROPERTY] } })) {
      if (row[INDEX_VERSION_PROPERTY] !== MAILBOX_INDEX_VERSION && row.rowKey) stale.push(repo.idOfRow(row.rowKey));
    }
    let rewritten = 0;
    for (let i = 0; i < stale.length; i += IN_FLIGHT) {
      const done = await Promise.all(stale.slice(i, i + IN_FLIGHT).map((id) => rewrite(repo, id)));
      rewritten += done.filter(Boolean).length;
    }
    await marker.finish(MAILBOX_INDEX_VERSION);
    return rewritten;
  } catch (err) {
    throw storageError(err);
  }
}
