/**
 * @module Finding mailboxes by the list filters: one page for `GET /api/mailboxes`, or every
 * matching id (up to a bound) for a bulk job's `filter`. Each is one Storage query over the
 * mailbox partition with the filter evaluated by Storage (storage/mailboxIndex.ts).
 */
import type { Mailbox } from "../domain/mailbox.js";
import type { MailboxFilter } from "../domain/mailboxQuery.js";
import type { Services } from "../runtime/services.js";
import { onePage, type Page } from "../storage/documentTable.js";
import { mailboxODataFilter } from "../storage/mailboxIndex.js";

/** Ids are read in Storage's largest page (1,000 entities). */
const ID_PAGE = 1000;

export async function listMailboxes(
  services: Services, filter: MailboxFilter, page: { top: number; continuationToken?: string | undefined },
): Promise<Page<Mailbox>> {
  const odata = mailboxODataFilter(filter, services.clock.now().toISOString());
  return services.repos.mailboxes.list({ top: page.top, continuationToken: page.continuationToken, ...(odata ? { filter: odata } : {}) });
}

/**
 * The ids of the mailboxes matching `filter`, reading only their keys; at most `limit + 1`, so a
 * caller can tell "more than limit" without reading them all.
 */
export async function matchingMailboxIds(services: Services, filter: MailboxFilter, limit: number): Promise<string[]> {
  const table = services.repos.mailboxes;
  const odata = mailboxODataFilter(filter, services.clock.now().toISOString());
  const query = () => table.client.listEntities<object>({ queryOptions: { filter: table.documentsFilter(odata), select: ["RowKey"] } });
  const ids: string[] = [];
  let token: string | undefined;
  do {
    const page = await onePage(query(), ID_PAGE, token);
    for (const row of page.rows) if (row.rowKey) ids.push(table.idOfRow(row.rowKey));
    token = page.continuationToken ?? undefined;
  } while (token && ids.length <= limit);
  return ids.slice(0, limit + 1);
}
