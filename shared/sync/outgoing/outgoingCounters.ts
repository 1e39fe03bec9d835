/**
 * @module Exact outgoing counters. A mailbox's `stats.sent` and `stats.failed` live in a row of
 * the emails table beside its sends and change in the same entity-group transaction as the email's
 * move to `sent` or `failed`: an email is counted if and only if its final status is stored,
 * whatever crashes in between. The mailbox document copies the counters at the end of each run.
 */
import { RestError, type TransactionAction } from "@azure/data-tables";
import type { EmailActivity } from "../../domain/email.js";
import type { Services } from "../../runtime/services.js";
import { storageError, type Stored } from "../../storage/documentTable.js";
import { isAppError } from "../../errors.js";
import { LEGACY_PARTITION, outboxPartition } from "../../storage/emailStore.js";

export interface OutgoingCounts {
  sent: number;
  failed: number;
}

const rowKey = (mailboxId: string): string => `c:out:${mailboxId}`;

interface CountersRow { counts: OutgoingCounts; etag: string }

async function readRow(services: Services, partition: string, mailboxId: string): Promise<CountersRow | undefined> {
  try {
    const e = await services.emails.client.getEntity<OutgoingCounts>(partition, rowKey(mailboxId));
    return { counts: { sent: e.sent, failed: e.failed }, etag: e.etag };
  } catch (err) {
    if (err instanceof RestError && err.statusCode === 404) return undefined;
    throw storageError(err);
  }
}

/**
 * The mailbox's counters live beside its sends, so each moves in its email's transaction: in the
 * mailbox's outbox partition, and for emails stored before decision 0027 in the legacy partition.
 * The counts are the sum of the two rows. The counts kept before counters existed (`initial`) seed
 * whichever row is created first; sends of one mailbox run one at a time (its lease), so two rows
 * are never created at once.
 */
const partitions = (mailboxId: string): [string, string] => [outboxPartition(mailboxId), LEGACY_PARTITION];

/** The counters as stored; the first time, `initial` (counts kept before counters existed). */
export async function readOutgoingCounts(services: Services, mailboxId: string, initial: OutgoingCounts): Promise<{ counts: OutgoingCounts }> {
  const rows = (await Promise.all(partitions(mailboxId).map((p) => readRow(services, p, mailboxId)))).filter((r): r is CountersRow => r !== undefined);
  if (rows.length === 0) return { counts: { ...initial } };
  return { counts: rows.reduce((sum, r) => ({ sent: sum.sent + r.counts.sent, failed: sum.failed + r.counts.failed }), { sent: 0, failed: 0 }) };
}

/** The row of the partition `partition`, or what a new one there starts from. */
async function rowIn(services: Services, partition: string, mailboxId: string, initial: OutgoingCounts): Promise<{ counts: OutgoingCounts; etag: string | undefined }> {
  const row = await readRow(services, partition, mailboxId);
  if (row) return row;
  const other = partitions(mailboxId).find((p) => p !== partition) ?? LEGACY_PARTITION;
  return { counts: (await readRow(services, other, mailboxId)) ? { sent: 0, failed: 0 } : { ...initial }, etag: undefined };
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
  const partition = services.emails.partitionOfDoc(base.doc.id);
  for (let attempt = 0; ; attempt++) {
    const { counts, etag } = await rowIn(services, partition, mailboxId, initial);
    const row = { partitionKey: partition, rowKey: rowKey(mailboxId), sent: counts.sent + add.sent, failed: counts.failed + add.failed };
    const action: TransactionAction = etag === undefined ? ["create", row] : ["update", row, "Replace", { etag }];
    try {
      return await services.emails.replace(base.doc, next, base.etag, [action]);
    } catch (err) {
      const raced = isAppError(err) && (err.code === "PRECONDITION_FAILED" || err.code === "CONFLICT");
      // The counters moved (another email of the mailbox settled at once): count again on top.
      if (raced && attempt < 5 && (await rowIn(services, partition, mailboxId, initial)).etag !== etag) continue;
      throw err;
    }
  }
}
