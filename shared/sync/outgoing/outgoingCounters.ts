/**
 * @module Exact outgoing counters. A mailbox's `stats.sent` and `stats.failed` live in a row of
 * the emails table's partition and change in the same entity-group transaction as the email's
 * move to `sent` or `failed`: an email is counted if and only if its final status is stored,
 * whatever crashes in between. The mailbox document copies the counters at the end of each run.
 */
import { RestError, type TransactionAction } from "@azure/data-tables";
import type { EmailActivity } from "../../domain/email.js";
import type { Services } from "../../runtime/services.js";
import { storageError, type Stored } from "../../storage/documentTable.js";
import { isAppError } from "../../errors.js";

export interface OutgoingCounts {
  sent: number;
  failed: number;
}

const rowKey = (mailboxId: string): string => `c:out:${mailboxId}`;

/** The counters as stored; the first time, `initial` (counts kept before counters existed). */
export async function readOutgoingCounts(services: Services, mailboxId: string, initial: OutgoingCounts): Promise<{ counts: OutgoingCounts; etag: string | undefined }> {
  try {
    const e = await services.emails.client.getEntity<OutgoingCounts>(services.emails.partition, rowKey(mailboxId));
    return { counts: { sent: e.sent, failed: e.failed }, etag: e.etag };
  } catch (err) {
    if (err instanceof RestError && err.statusCode === 404) return { counts: { ...initial }, etag: undefined };
    throw storageError(err);
  }
}

function added(before: EmailActivity, after: EmailActivity): OutgoingCounts {
  return {
    sent: after.status === "sent" && before.status !== "sent" ? 1 : 0,
    failed: after.status === "failed" && before.status !== "failed" ? 1 : 0,
  };
}

/**
 * Replaces the email (conditioned on `base.etag`) and adds its count, in one transaction.
 * Throws PRECONDITION_FAILED when the email changed meanwhile, as a plain replace would.
 */
export async function replaceCounted(services: Services, base: Stored<EmailActivity>, next: EmailActivity, initial: OutgoingCounts): Promise<Stored<EmailActivity>> {
  const add = added(base.doc, next);
  if (add.sent === 0 && add.failed === 0) return services.emails.replace(base.doc, next, base.etag);
  const mailboxId = base.doc.mailboxId;
  for (let attempt = 0; ; attempt++) {
    const { counts, etag } = await readOutgoingCounts(services, mailboxId, initial);
    const row = { partitionKey: services.emails.partition, rowKey: rowKey(mailboxId), sent: counts.sent + add.sent, failed: counts.failed + add.failed };
    const action: TransactionAction = etag === undefined ? ["create", row] : ["update", row, "Replace", { etag }];
    try {
      return await services.emails.replace(base.doc, next, base.etag, [action]);
    } catch (err) {
      const raced = isAppError(err) && (err.code === "PRECONDITION_FAILED" || err.code === "CONFLICT");
      // The counters moved (another email of the mailbox settled at once): count again on top.
      if (raced && attempt < 5 && (await readOutgoingCounts(services, mailboxId, initial)).etag !== etag) continue;
      throw err;
    }
  }
}
