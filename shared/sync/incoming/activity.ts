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
import type { IndexRow, Stored } from "../../storage/documentTable.js";
import { emailLookup, incomingEmailId } from "../../storage/emailStore.js";

/**
 * Where lookup rows outside an activity's partition go: written at once when absent, or handed
 * to the poll, which writes a run's rows in batches before their markers (pollMailbox.ts).
 */
export type LookupSink = (rows: IndexRow[]) => void;

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

/** The activity's lookup rows outside its partition, again: an attempt that died after its create may not have written them. */
async function relook(services: Services, doc: EmailActivity, sink: LookupSink | undefined): Promise<void> {
  const rows = services.emails.lookupRowsOutside(doc);
  if (sink) sink(rows);
  else await services.emails.writeRows(rows);
}

async function join(services: Services, current: Stored<EmailActivity>, copy: EmailActivity, sink: LookupSink | undefined): Promise<void> {
  const emailId = current.doc.id;
  if (!current.doc.receivedByMailboxIds.includes(copy.mailboxId)) {
    await services.emails.update(emailId, (e) =>
      e.receivedByMailboxIds.includes(copy.mailboxId)
        ? e
        : { ...e, receivedByMailboxIds: [...e.receivedByMailboxIds, copy.mailboxId], updatedAt: services.clock.now().toISOString() });
  } else await relook(services, current.doc, sink);
  // Only once the join is durable, and never the blob the activity itself holds. A copy kept
  // inline was never written: its transaction is the one that failed.
  if (current.doc.rawBlob && copy.rawBlob && current.doc.rawBlob !== copy.rawBlob && !copy.rawInline) {
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
async function tryCreate(services: Services, activity: EmailActivity, sink: LookupSink | undefined, raw: Buffer | undefined): Promise<SaveResult | undefined> {
  const created = await services.emails.tryCreate(activity, { ...(sink ? { deferLookups: sink } : {}), ...(activity.rawInline && raw ? { sidecar: raw } : {}) });
  return created ? { emailId: activity.id, created: true, status: activity.status } : undefined;
}

/** The same bytes from the same source: an earlier attempt created it and died before its marker. */
const earlierAttempt = (stored: EmailActivity, copy: EmailActivity): boolean =>
  stored.mailboxId === copy.mailboxId && (stored.rawBlob ?? "") === (copy.rawBlob ?? "") && stored.sha256 === copy.sha256;

async function joined(services: Services, stored: Stored<EmailActivity>, copy: EmailActivity, sink: LookupSink | undefined): Promise<SaveResult> {
  if (earlierAttempt(stored.doc, copy)) {
    await relook(services, stored.doc, sink);
    return { emailId: stored.doc.id, created: true, status: stored.doc.status };
  }
  await join(services, stored, copy, sink);
  return { emailId: stored.doc.id, created: false, status: stored.doc.status };
}

/**
 * Most mail is new: the create is tried first and the transaction's own conflict on the unique
 * key says when it is not (one request instead of a read and a write). Only then is the holder read.
 */
/** The activity under a new id (its conversation too, when it starts one). */
function withId(activity: EmailActivity, id: string): EmailActivity {
  return { ...activity, id, conversationId: activity.conversationId === activity.id ? id : activity.conversationId };
}

async function saveOnce(services: Services, activity: EmailActivity, sink: LookupSink | undefined, raw: Buffer | undefined): Promise<SaveResult | undefined> {
  const created = await tryCreate(services, activity, sink, raw);
  if (created) return created;
  const first = await holder(services, emailLookup.messageId(activity.messageId));
  if (!first) return undefined; // the holder was deleted meanwhile: try again
  if (sameMessage(first.doc, activity)) return joined(services, first, activity, sink);
  // Another message already holds this Message-ID: this one is filed on its own, with an id of
  // its own key's partition (emailPartitions.ts).
  const ownKey = emailLookup.messageIdWithDigest(activity.messageId, activity.contentDigest ?? activity.sha256);
  const own = await holder(services, ownKey);
  if (own) return joined(services, own, activity, sink);
  return tryCreate(services, { ...withId(activity, incomingEmailId(ownKey)), messageIdKey: ownKey }, sink, raw);
}

/**
 * `activity.id` must be incomingEmailId of its Message-ID key (its document then shares the key
 * row's transaction). `sink`: lookup rows outside the activity's partition are handed over
 * instead of written (the caller writes them before it records the message as processed).
 * `raw`: the message's bytes when `activity.rawInline` says they are kept beside it; they are
 * written in the activity's own transaction, so they exist exactly when the activity does.
 */
export async function saveOrJoin(services: Services, activity: EmailActivity, sink?: LookupSink, raw?: Buffer): Promise<SaveResult> {
  if (activity.rawInline && !raw) throw new AppError("INTERNAL", `The activity for ${activity.messageId} keeps its bytes inline but none were given.`);
  // A lost race (another worker created the same key between our read and our write) is
  // settled by reading again: the second time the winner is there to join or to tell apart.
  for (let attempt = 0; attempt < 3; attempt++) {
    const saved = await saveOnce(services, activity, sink, raw);
    if (saved) return saved;
  }
  throw new AppError("CONFLICT", `The activity for ${activity.messageId} kept changing while it was saved.`);
}
