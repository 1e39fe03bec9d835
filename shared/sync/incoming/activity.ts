/**
 * @module Creating an incoming activity exactly once per Message-ID across the org: a second copy
 * (same mailbox re-fetched, or another mailbox) joins the existing activity instead. The activity
 * keeps the bytes of the copy that created it; another mailbox's copy of the same message is
 * removed once joined, since nothing refers to it (a re-fetch in the same mailbox wrote the same blob).
 */
import { AppError } from "../../errors.js";
import type { EmailActivity } from "../../domain/email.js";
import type { Services } from "../../runtime/services.js";
import { emailLookup } from "../../storage/emailStore.js";

export interface SaveResult {
  emailId: string;
  created: boolean;
}

async function join(services: Services, emailId: string, copy: EmailActivity): Promise<void> {
  const current = await services.emails.get(emailId);
  if (current && !current.doc.receivedByMailboxIds.includes(copy.mailboxId)) {
    await services.emails.update(emailId, (e) =>
      e.receivedByMailboxIds.includes(copy.mailboxId)
        ? e
        : { ...e, receivedByMailboxIds: [...e.receivedByMailboxIds, copy.mailboxId], updatedAt: services.clock.now().toISOString() });
  }
  // Only once the join is durable, and never the blob the activity itself holds.
  if (current?.doc.rawBlob && copy.rawBlob && current.doc.rawBlob !== copy.rawBlob) {
    await services.raw.delete(copy.rawBlob).catch((err: unknown) =>
      services.log.warn("joined copy's raw blob not removed", { emailId, blob: copy.rawBlob, err }));
  }
}

export async function saveOrJoin(services: Services, activity: EmailActivity): Promise<SaveResult> {
  const key = emailLookup.messageId(activity.messageId);
  const existing = await services.emails.idByUniqueKey(key);
  if (existing) {
    await join(services, existing, activity);
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
    await join(services, winner, activity);
    return { emailId: winner, created: false };
  }
}
