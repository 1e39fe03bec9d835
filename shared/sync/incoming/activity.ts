/**
 * @module Creating an incoming activity exactly once per message across the org: a second copy
 * (same mailbox re-fetched, or another mailbox) joins the existing activity instead.
 *
 * A copy is the same message when it has the same Message-ID *and* the same content digest
 * (contentDigest.ts: the body, which servers do not touch). A sender can put any Message-ID in a
 * message, so a different message reusing one becomes its own activity: it holds the unique key
 * "Message-ID + digest" instead of the Message-ID, and a copy of *it* joins it there. The first
 * activity with a Message-ID keeps the Message-ID key, so replies (In-Reply-To) still find it.
 * Activities without a digest (written before digests existed) join on the Message-ID alone.
 *
 * The activity keeps the bytes of the copy that created it; another mailbox's copy is removed
 * once joined, since nothing refers to it (a re-fetch in the same mailbox wrote the same blob).
 */
import { AppError } from "../../errors.js";
import type { EmailActivity } from "../../domain/email.js";
import type { Services } from "../../runtime/services.js";
import type { Stored } from "../../storage/documentTable.js";
import { emailLookup } from "../../storage/emailStore.js";

export interface SaveResult {
  emailId: string;
  /**
   * This source (mailbox, maildrop, UIDL) made the activity: now, or in an earlier attempt that
   * died before its marker was written. Only such an activity counts for the mailbox.
   */
  created: boolean;
  /** The activity's status as stored (an earlier attempt may have filed what is now quarantined). */
  status: EmailActivity["status"];
}

async function join(services: Services, current: Stored<EmailActivity>, copy: EmailActivity): Promise<void> {
  const emailId = current.doc.id;
  if (!current.doc.receivedByMailboxIds.includes(copy.mailboxId)) {
    await services.emails.update(emailId, (e) =>
      e.receivedByMailboxIds.includes(copy.mailboxId)
        ? e
        : { ...e, receivedByMailboxIds: [...e.receivedByMailboxIds, copy.mailboxId], updatedAt: services.clock.now().toISOString() });
  }
  // Only once the join is durable, and never the blob the activity itself holds.
  if (current.doc.rawBlob && copy.rawBlob && current.doc.rawBlob !== copy.rawBlob) {
    await services.raw.delete(copy.rawBlob).catch((err: unknown) =>
      services.log.warn("joined copy's raw blob not removed", { emailId, blob: copy.rawBlob, err }));
  }
}

const sameMessage = (stored: EmailActivity, copy: EmailActivity): boolean =>
  stored.contentDigest === undefined || copy.contentDigest === undefined || stored.contentDigest === copy.contentDigest;

/** The activity holding `key`, read with its document (undefined when none, or deleted meanwhile). */
async function holder(services: Services, key: string): Promise<Stored<EmailActivity> | undefined> {
  const id = await services.emails.idByUniqueKey(key);
  return id === undefined ? undefined : services.emails.get(id);
}

/** Creates `activity` with its unique key; undefined when another activity holds the key. */
async function tryCreate(services: Services, activity: EmailActivity): Promise<SaveResult | undefined> {
  const created = await services.emails.tryCreate(activity);
  return created ? { emailId: activity.id, created: true, status: activity.status } : undefined;
}

/** The same bytes from the same source: an earlier attempt created it and died before its marker. */
const earlierAttempt = (stored: EmailActivity, copy: EmailActivity): boolean =>
  stored.mailboxId === copy.mailboxId && (stored.rawBlob ?? "") === (copy.rawBlob ?? "") && stored.sha256 === copy.sha256;

async function joined(services: Services, stored: Stored<EmailActivity>, copy: EmailActivity): Promise<SaveResult> {
  if (earlierAttempt(stored.doc, copy)) return { emailId: stored.doc.id, created: true, status: stored.doc.status };
  await join(services, stored, copy);
  return { emailId: stored.doc.id, created: false, status: stored.doc.status };
}

/**
 * Most mail is new: the create is tried first and the transaction's own conflict on the unique
 * key says when it is not (one request instead of a read and a write). Only then is the holder read.
 */
async function saveOnce(services: Services, activity: EmailActivity): Promise<SaveResult | undefined> {
  const created = await tryCreate(services, activity);
  if (created) return created;
  const first = await holder(services, emailLookup.messageId(activity.messageId));
  if (!first) return undefined; // the holder was deleted meanwhile: try again
  if (sameMessage(first.doc, activity)) return joined(services, first, activity);
  // Another message already holds this Message-ID: this one is filed on its own.
  const ownKey = emailLookup.messageIdWithDigest(activity.messageId, activity.contentDigest ?? activity.sha256);
  const own = await holder(services, ownKey);
  if (own) return joined(services, own, activity);
  return tryCreate(services, { ...activity, messageIdKey: ownKey });
}

export async function saveOrJoin(services: Services, activity: EmailActivity): Promise<SaveResult> {
  // A lost race (another worker created the same key between our read and our write) is
  // settled by reading again: the second time the winner is there to join or to tell apart.
  for (let attempt = 0; attempt < 3; attempt++) {
    const saved = await saveOnce(services, activity);
    if (saved) return saved;
  }
  throw new AppError("CONFLICT", `The activity for ${activity.messageId} kept changing while it was saved.`);
}
