/**
 * @module Creating an incoming activity exactly once per Message-ID across the org: a second copy
 * (same mailbox re-fetched, or another mailbox) joins the existing activity instead.
 */
import { AppError } from "../../errors.js";
import type { EmailActivity } from "../../domain/email.js";
import type { Services } from "../../runtime/services.js";
import { emailLookup } from "../../storage/emailStore.js";

export interface SaveResult {
  emailId: string;
  created: boolean;
}

async function join(services: Services, emailId: string, mailboxId: string): Promise<void> {
  const current = await services.emails.get(emailId);
  if (!current || current.doc.receivedByMailboxIds.includes(mailboxId)) return;
  await services.emails.update(emailId, (e) =>
    e.receivedByMailboxIds.includes(mailboxId)
      ? e
      : { ...e, receivedByMailboxIds: [...e.receivedByMailboxIds, mailboxId], updatedAt: services.clock.now().toISOString() });
}

export async function saveOrJoin(services: Services, activity: EmailActivity): Promise<SaveResult> {
  const key = emailLookup.messageId(activity.messageId);
  const existing = await services.emails.idByUniqueKey(key);
  if (existing) {
    await join(services, existing, activity.mailboxId);
    return { emailId: existing, created: false };
  }
  try {
    await services.emails.create(activity);
    return { emailId: activity.id, created: true };
  } catch (err) {
    // Another worker stored the same Message-ID between our read and our write.
    if (!(err instanceof AppError && err.code === "CONFLICT")) throw err;
    const winner = await services.emails.idByUniqueKey(key);
    if (!winner) throw err;
    await join(services, winner, activity.mailboxId);
    return { emailId: winner, created: false };
  }
}
