/**
 * @module One fetched message, from its raw bytes to an activity (or a counted skip, or a
 * quarantine). The raw bytes are durable before the message counts as processed: a small message
 * keeps them in a row written in its activity's own transaction (MAX_INLINE_RAW_BYTES, decision
 * 0029), a larger one in Blob Storage before anything else happens. The caller writes the marker
 * only after this returns, and deletes from the server only after that.
 *
 * Whatever goes wrong after the bytes are stored is the message's (messageFailure.ts): it ends
 * as a quarantined activity holding the raw bytes, and the poll goes on with the next message.
 */
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { AppError, toAppError } from "../../errors.js";
import { normalizeSubject, syntheticMessageId, type EmailActivity } from "../../domain/email.js";
import type { Mailbox } from "../../domain/mailbox.js";
import type { OrgSettings } from "../../domain/orgSettings.js";
import type { Profile } from "../../domain/profile.js";
import type { Services } from "../../runtime/services.js";
import { boundedKey } from "../../storage/documentTable.js";
import { emailLookup, incomingEmailId } from "../../storage/emailStore.js";
import type { RawUpload } from "../../storage/rawStore.js";
import { MAX_ATTACHMENTS_LISTED, MAX_DOWNLOAD_BYTES, MAX_INLINE_RAW_BYTES } from "../../limits.js";
import { raiseAlert } from "../alerts.js";
import { adviceFor } from "../advice.js";
import type { Marker } from "./checkpoint.js";
import { ContentDigest } from "./contentDigest.js";
import { headerMessageId, parseMessage, type ParsedMessage } from "./parse.js";
import { correlate } from "./correlate.js";
import { passesFilter } from "./filter.js";
import { saveOrJoin, type LookupSink } from "./activity.js";
import { forwardTarget } from "./forward.js";
import { isMailboxLevel, messageError } from "./messageFailure.js";
import { fitBodies } from "../outgoing/fitActivity.js";
import { effectiveCutoff, isBeforeCutoff } from "./cutoff.js";
import { receivedTime } from "./receivedTime.js";
import type { FileTicket } from "./fileOrder.js";

export interface MessageContext {
  services: Services;
  mailbox: Mailbox;
  profile: Profile;
  settings: OrgSettings;
  uid: string;
  /** The maildrop the UIDL belongs to (checkpoint.ts maildropScope). */
  scope: string;
  /** When the message is parked and looked at again (reconsider.ts): its marker so far. */
  previous?: Marker;
  /** Its place among the messages processed at the same time (fileOrder.ts). */
  ticket?: FileTicket;
  /** Takes lookup rows to write in a batch later (activity.ts LookupSink); absent: written at once. */
  lookups?: LookupSink;
  /** Writes the rows handed to `lookups` so far (before a correlation that may need them). */
  flushLookups?: () => Promise<void>;
}

/** The raw bytes as stored, with the digest that tells copies of one message apart from others. */
export interface StoredMessage extends RawUpload {
  contentDigest: string;
}

export const rawBlobName = (mailboxId: string, scope: string, uid: string): string =>
  `incoming/${mailboxId}/${scope}/${boundedKey(uid)}.eml`;

function baseActivity(ctx: MessageContext, stored: StoredMessage, messageId: string, now: string): EmailActivity {
  return {
    id: incomingEmailId(emailLookup.messageId(messageId)), createdAt: now, updatedAt: now, mailboxId: ctx.mailbox.id, direction: "incoming", status: "received",
    messageId, inReplyTo: null, references: [], conversationId: "", trackingToken: null, correlatedEmailId: null,
    correlationMethod: "none", from: null, to: [], cc: [], bcc: [], subject: "", textBody: "", htmlBody: null,
    attachments: [], sizeBytes: stored.sizeBytes, sha256: stored.sha256, receivedAt: now, sentAt: null, error: null,
    attempts: 0, nextAttemptAt: null, receivedByMailboxIds: [ctx.mailbox.id], truncated: [],
    contentDigest: stored.contentDigest, rawBlob: stored.blobName || null, normalizedSubject: "",
    ...(stored.inline ? { rawInline: true } : {}),
  };
}

/** Stores the message as a quarantined activity (its raw bytes kept) and warns the admin. */
async function quarantine(ctx: MessageContext, stored: StoredMessage, err: AppError, messageId: string): Promise<Marker> {
  const { services, mailbox } = ctx;
  const now = services.clock.now().toISOString();
  const activity = { ...baseActivity(ctx, stored, messageId, now), status: "quarantined" as const, error: err.toSummary() };
  activity.conversationId = activity.id;
  const saved = await saveOrJoin(services, activity, ctx.lookups, stored.bytes);
  if (!saved.created) return { outcome: "duplicate", emailId: saved.emailId, deletable: true };
  if (saved.status !== "quarantined") return { outcome: "received", emailId: saved.emailId, deletable: true };
  await raiseAlert(services, {
    level: "warning", code: err.code, mailboxId: mailbox.id, profileId: mailbox.profileId, emailId: saved.emailId,
    message: `Mailbox ${mailbox.emailAddress}: message ${messageId} was quarantined (${err.message}). ${adviceFor(err.code)}`,
  });
  return { outcome: "quarantined", emailId: saved.emailId, deletable: true };
}

/**
 * Quarantine that holds under any content: first with the message's own Message-ID, then, if
 * even that is refused, with a minimal activity named by the digest of the bytes alone. When
 * Storage refuses that too, the fault is not the message's, and the mailbox's error policy decides.
 */
async function quarantineSafely(ctx: MessageContext, stored: StoredMessage, err: AppError): Promise<Marker> {
  const head = stored.bytes ?? stored.head;
  try {
    return await quarantine(ctx, stored, err, (head && headerMessageId(head)) ?? syntheticMessageId(stored.sha256));
  } catch (first) {
    const e = toAppError(first);
    if (isMailboxLevel(e)) throw e;
    try {
      return await quarantine(ctx, stored, err, syntheticMessageId(stored.sha256));
    } catch (second) {
      const e2 = toAppError(second);
      if (isMailboxLevel(e2)) throw e2;
      throw new AppError("STORAGE_UNAVAILABLE", `Storage refused even a minimal quarantined activity (${e2.code}).`, { cause: e2 });
    }
  }
}

/** Stores `stream` (a RETR body) and turns it into an activity, a skip or a quarantine. */
export async function processMessage(ctx: MessageContext, stream: Readable): Promise<Marker> {
  const digest = new ContentDigest();
  const upload = await ctx.services.raw.upload(rawBlobName(ctx.mailbox.id, ctx.scope, ctx.uid), stream, { observe: digest.update, holdUpTo: MAX_INLINE_RAW_BYTES });
  const stored: StoredMessage = { ...upload, contentDigest: digest.digest(upload.sha256) };
  try {
    return await processStored(ctx, stored);
  } catch (thrown) {
    const err = toAppError(thrown);
    if (isMailboxLevel(err)) throw err;
    ctx.services.log.warn("message quarantined", { mailboxId: ctx.mailbox.id, errorCode: err.code, sizeBytes: stored.sizeBytes });
    return quarantineSafely(ctx, stored, messageError(err));
  }
}

async function processStored(ctx: MessageContext, stored: StoredMessage): Promise<Marker> {
  const { services, settings } = ctx;
  if (stored.sizeBytes > settings.maxMessageSizeKb * 1024) {
    // Never parsed, never read back: the header section seen on the way up names it.
    throw new AppError("MESSAGE_TOO_LARGE", `The message is ${Math.ceil(stored.sizeBytes / 1024)} KB, over the ${settings.maxMessageSizeKb} KB limit.`);
  }
  const raw = stored.bytes ?? await services.raw.downloadBuffer(stored.blobName);
  const parsed = await parseMessage(raw);
  // An earlier message of this run that this one may correlate with has its lookup rows written first.
  if (await ctx.ticket?.ready(parsed)) await ctx.flushLookups?.();
  // Mail the server received before the cut-off is not processed; it is parked with that cut-off.
  const cutoff = effectiveCutoff(ctx.mailbox, ctx.profile);
  if (cutoff !== null && isBeforeCutoff(receivedTime(parsed, services.clock.now()).at, cutoff)) return skip(ctx, stored, { cutoff });
  if (ctx.mailbox.isForwardMailbox) return forwardTarget(ctx, parsed, stored);
  return fileMessage(ctx, ctx.mailbox, parsed, stored);
}

/**
 * A message the server says is larger than MAX_DOWNLOAD_BYTES is not downloaded: it is recorded
 * as quarantined without raw bytes and left on the server (never deleted), so nothing is lost.
 */
export async function recordUndownloadable(ctx: MessageContext, announcedBytes: number): Promise<Marker> {
  const id = createHash("sha256").update(`${ctx.mailbox.id}\n${ctx.scope}\n${ctx.uid}`).digest("hex");
  const stored: StoredMessage = { blobName: "", sizeBytes: announcedBytes, sha256: "", contentDigest: id };
  const err = new AppError("MESSAGE_TOO_LARGE",
    `The server lists the message at ${Math.ceil(announcedBytes / 1024)} KB, over the ${MAX_DOWNLOAD_BYTES / 1024} KB that are ever downloaded; it was left on the server.`);
  const marker = await quarantine(ctx, stored, err, `<${id}@too-large.invalid>`);
  return { ...marker, deletable: false };
}

/**
 * Skipped mail is not kept (only activities own raw bytes) and never deleted from the server: it
 * was not processed, and one skipped by the cut-off may be filed later (reconsider.ts).
 */
async function skip(ctx: MessageContext, stored: RawUpload, parked: Pick<Marker, "cutoff"> = {}): Promise<Marker> {
  await ctx.services.raw.discard(stored);
  return { outcome: "skipped", emailId: null, deletable: false, ...parked };
}

/** Turns a parsed message into an activity of `owner` (the mailbox itself, or a forward's target). */
export async function fileMessage(ctx: MessageContext, owner: Mailbox, parsed: ParsedMessage, stored: StoredMessage): Promise<Marker> {
  const { services, settings } = ctx;
  const normalizedSubject = normalizeSubject(parsed.subject);
  const participants = [parsed.from?.address, ...parsed.to.map((a) => a.address), ...parsed.cc.map((a) => a.address)].filter((a): a is string => !!a);
  const c = await correlate(services, settings, {
    subject: parsed.subject, normalizedSubject, inReplyTo: parsed.inReplyTo, references: parsed.references, participants, ownAddress: owner.emailAddress,
  });
  if (!(await passesFilter(services, owner, parsed.from?.address ?? null, c.correlatedEmailId !== null))) return skip(ctx, stored);

  const limit = settings.maxAttachmentSizeKb * 1024;
  const listed = parsed.attachments.slice(0, MAX_ATTACHMENTS_LISTED);
  const kept = listed.filter((a) => a.size <= limit);
  const dropped = listed.filter((a) => a.size > limit);
  const now = services.clock.now().toISOString();
  const activity: EmailActivity = {
    ...baseActivity(ctx, stored, parsed.messageId ?? syntheticMessageId(stored.sha256), now),
    mailboxId: owner.id, receivedByMailboxIds: [owner.id],
    inReplyTo: parsed.inReplyTo, references: parsed.references, trackingToken: c.trackingToken,
    correlatedEmailId: c.correlatedEmailId, correlationMethod: c.correlationMethod,
    from: parsed.from, to: parsed.to, cc: parsed.cc, subject: parsed.subject, textBody: parsed.textBody, htmlBody: parsed.htmlBody,
    attachments: kept.map(({ filename, contentType, size }) => ({ filename, contentType, size })),
    sentAt: parsed.date?.toISOString() ?? null, normalizedSubject, truncated: parsed.truncated,
  };
  activity.conversationId = c.conversationId ?? activity.id;
  const saved = await saveOrJoin(services, fitBodies(activity), ctx.lookups, stored.bytes);
  if (dropped.length > 0 && saved.created) {
    const names = dropped.slice(0, 5).map((a) => a.filename.slice(0, 80)).join(", ") + (dropped.length > 5 ? ", ..." : "");
    await raiseAlert(services, {
      level: "warning", code: "ATTACHMENT_TOO_LARGE", mailboxId: owner.id, profileId: owner.profileId, emailId: saved.emailId,
      message: `Mailbox ${owner.emailAddress}: ${dropped.length} attachment(s) of ${activity.messageId} over ${settings.maxAttachmentSizeKb} KB were left out (${names}). ${adviceFor("ATTACHMENT_TOO_LARGE")}`,
    });
  }
  const outcome = !saved.created ? "duplicate" : saved.status === "quarantined" ? "quarantined" : "received";
  return { outcome, emailId: saved.emailId, deletable: true };
}
