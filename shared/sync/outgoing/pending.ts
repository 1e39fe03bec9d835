/**
 * @module Finding a mailbox's unfinished sends with one range read of their index, and keeping
 * the due index in step with them after a run.
 */
import type { EmailActivity } from "../../domain/email.js";
import type { Services } from "../../runtime/services.js";
import type { Stored } from "../../storage/documentTable.js";
import { emailLookup, isUnfinished } from "../../storage/emailStore.js";
import { QUEUES } from "../../storage/names.js";

/** Bounds one listing; a mailbox with more unfinished sends is worked through over several runs. */
const MAX_LISTED = 1000;

/**
 * `pendingSend` and `sending` emails of the mailbox, oldest first: the `unfinished` index rows,
 * which live with the mailbox's sends and change in their transactions. A row whose email has
 * settled meanwhile (an email stored before decision 0027, whose row is removed after its
 * transaction) is skipped.
 */
export async function listUnfinished(services: Services, mailboxId: string): Promise<Stored<EmailActivity>[]> {
  const ids = (await services.emails.lookupPage(emailLookup.unfinished(mailboxId), MAX_LISTED)).ids;
  const docs = await Promise.all(ids.map((id) => services.emails.get(id)));
  return docs
    .filter((s): s is Stored<EmailActivity> => s !== undefined && s.doc.mailboxId === mailboxId && isUnfinished(s.doc))
    .sort((a, b) => a.doc.createdAt.localeCompare(b.doc.createdAt));
}

export const isDue = (e: EmailActivity, now: Date): boolean => e.nextAttemptAt === null || Date.parse(e.nextAttemptAt) <= now.getTime();

/**
 * After a run: the due index holds the mailbox exactly when a pending send is left, at the
 * earliest `nextAttemptAt`. The entry is removed first and the emails read after, so a send
 * created meanwhile (its POST schedules the mailbox too) is never left without an entry.
 * `enqueueDue`: a send due now is also put on the queue at once instead of waiting for a tick.
 */
export async function rescheduleMailbox(services: Services, mailboxId: string, enqueueDue: boolean): Promise<void> {
  await services.due.remove("outgoing", mailboxId);
  const pending = (await listUnfinished(services, mailboxId)).filter((s) => s.doc.status === "pendingSend");
  if (pending.length === 0) return;
  const now = services.clock.now().getTime();
  const next = Math.max(now, Math.min(...pending.map((s) => (s.doc.nextAttemptAt ? Date.parse(s.doc.nextAttemptAt) : now))));
  await services.due.schedule("outgoing", mailboxId, new Date(next));
  if (enqueueDue && next <= now) await services.queue.send(QUEUES.outgoing, { mailboxId });
}
