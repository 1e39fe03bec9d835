/**
 * @module One fetched message, from its raw bytes to an activity (or a counted skip, or a
 * quarantine). The raw bytes are durable in Blob Storage before anything else happens; the
 * caller writes the marker only after this returns, and deletes from the server only after that.
 */
import { randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import { AppError, isAppError } from "../../errors.js";
import { normalizeSubject, syntheticMessageId, type EmailActivity } from "../../domain/email.js";
import type { Mailbox } from "../../domain/mailbox.js";
import type { OrgSettings } from "../../domain/orgSettings.js";
import type { Profile } from "../../domain/profile.js";
import type { Services } from "../../runtime/services.js";
import { encodeKey } from "../../storage/documentTable.js";
import type { RawUpload } from "../../storage/rawStore.js";
import { raiseAlert } from "../alerts.js";
import { adviceFor } from "../advice.js";
import type { Marker } from "./checkpoint.js";
import { headerMessageId, parseMessage, type ParsedMessage } from "./parse.js";
import { correlate } from "./correlate.js";
import { passesFilter } from "./filter.js";
import { saveOrJoin } from "./activity.js";
import { forwardTarget } from "./forward.js";
import { fitBodies } from "../outgoing/fitActivity.js";

export interface MessageContext {
  services: Services;
  mailbox: Mailbox;
  profile: Profile;
  settings: OrgSettings;
  uid: string;
}

export const rawBlobName = (mailboxId: string, uid: string): string => `incoming/${mailboxId}/${encodeKey(uid)}.eml`;

function baseActivity(ctx: MessageContext, upload: RawUpload, messageId: string, now: string): EmailActivity {
  return {
    id: randomUUID(), createdAt: now, updatedAt: now, mailboxId: ctx.mailbox.id, direction: "incoming", status: "received",
    messageId, inReplyTo: null, references: [], conversationId: "", trackingToken: null, correlatedEmailId: null,
    correlationMethod: "none", from: null, to: [], cc: [], bcc: [], subject: "", textBody: "", htmlBody: null,
    attachments: [], sizeBytes: upload.sizeBytes, sha256: upload.sha256, receivedAt: now, sentAt: null, error: null,
    attempts: 0, nextAttemptAt: null, receivedByMailboxIds: [ctx.mailbox.id], rawBlob: upload.blobName, normalizedSubject: "",
  };
}

async function quarantine(ctx: MessageContext, upload: RawUpload, raw: Buffer | null, err: AppError): Promise<Marker> {
  const { services, mailbox } = ctx;
  const now = services.clock.now().toISOString();
  const messageId = (raw && headerMessageId(raw)) ?? syntheticMessageId(upload.sha256);
  const activity = { ...baseActivity(ctx, upload, messageId, now), status: "quarantined" as const, error: err.toSummary() };
  activity.conversationId = activity.id;
  const saved = await saveOrJoin(services, activity);
  await raiseAlert(services, {
    level: "warning", code: err.code, mailboxId: mailbox.id, profileId: mailbox.profileId, emailId: saved.emailId,
    message: `Mailbox ${mailbox.emailAddress}: message ${messageId} was quarantined (${err.message}). ${adviceFor(err.code)}`,
  });
  return { outcome: "quarantined", emailId: saved.emailId, deletable: true };
}

/** Mail dated before the cut-off (mailbox override, else profile) is not processed. */
function beforeCutoff(ctx: MessageContext, date: Date | null, fetchedAt: Date): boolean {
  const cutoff = ctx.mailbox.processEmailReceivedAfter ?? ctx.profile.processEmailFrom;
  return cutoff !== null && (date ?? fetchedAt).getTime() < Date.parse(cutoff);
}

export async function processMessage(ctx: MessageContext, stream: Readable): Promise<Marker> {
  const { services, settings } = ctx;
  const upload = await services.raw.upload(rawBlobName(ctx.mailbox.id, ctx.uid), stream);
  if (upload.sizeBytes > settings.maxMessageSizeKb * 1024) {
    const head = upload.bytes ?? await services.raw.downloadBuffer(upload.blobName).catch(() => null);
    return quarantine(ctx, upload, head, new AppError("MESSAGE_TOO_LARGE", `The message is ${Math.ceil(upload.sizeBytes / 1024)} KB, over the ${settings.maxMessageSizeKb} KB limit.`));
  }
  const raw = upload.bytes ?? await services.raw.downloadBuffer(upload.blobName);
  let parsed: ParsedMessage;
  try {
    parsed = await parseMessage(raw);
  } catch (err) {
    if (isAppError(err) && err.code === "MESSAGE_UNPARSABLE") return quarantine(ctx, upload, raw, err);
    throw err;
  }
  if (beforeCutoff(ctx, parsed.date, services.clock.now())) return skip(ctx, upload);
  if (ctx.mailbox.isForwardMailbox) return forwardTarget(ctx, parsed, upload);
  return fileMessage(ctx, ctx.mailbox, parsed, upload);
}

async function skip(ctx: MessageContext, upload: RawUpload): Promise<Marker> {
  // Skipped mail is not kept: only activities own raw bytes.
  await ctx.services.raw.delete(upload.blobName);
  return { outcome: "skipped", emailId: null, deletable: false };
}

/** Turns a parsed message into an activity of `owner` (the mailbox itself, or a forward's target). */
export async function fileMessage(ctx: MessageContext, owner: Mailbox, parsed: ParsedMessage, upload: RawUpload): Promise<Marker> {
  const { services, settings } = ctx;
  const normalizedSubject = normalizeSubject(parsed.subject);
  const participants = [parsed.from?.address, ...parsed.to.map((a) => a.address), ...parsed.cc.map((a) => a.address)].filter((a): a is string => !!a);
  const c = await correlate(services, settings, {
    subject: parsed.subject, normalizedSubject, inReplyTo: parsed.inReplyTo, references: parsed.references, participants, ownAddress: owner.emailAddress,
  });
  if (!(await passesFilter(services, owner, parsed.from?.address ?? null, c.correlatedEmailId !== null))) return skip(ctx, upload);

  const limit = settings.maxAttachmentSizeKb * 1024;
  const kept = parsed.attachments.filter((a) => a.size <= limit);
  const dropped = parsed.attachments.filter((a) => a.size > limit);
  const now = services.clock.now().toISOString();
  const activity: EmailActivity = {
    ...baseActivity(ctx, upload, parsed.messageId ?? syntheticMessageId(upload.sha256), now),
    mailboxId: owner.id, receivedByMailboxIds: [owner.id],
    inReplyTo: parsed.inReplyTo, references: parsed.references, trackingToken: c.trackingToken,
    correlatedEmailId: c.correlatedEmailId, correlationMethod: c.correlationMethod,
    from: parsed.from, to: parsed.to, cc: parsed.cc, subject: parsed.subject, textBody: parsed.textBody, htmlBody: parsed.htmlBody,
    attachments: kept.map(({ filename, contentType, size }) => ({ filename, contentType, size })),
    sentAt: parsed.date?.toISOString() ?? null, normalizedSubject,
  };
  activity.conversationId = c.conversationId ?? activity.id;
  const saved = await saveOrJoin(services, fitBodies(activity));
  if (dropped.length > 0 && saved.created) {
    await raiseAlert(services, {
      level: "warning", code: "ATTACHMENT_TOO_LARGE", mailboxId: owner.id, profileId: owner.profileId, emailId: saved.emailId,
      message: `Mailbox ${owner.emailAddress}: ${dropped.length} attachment(s) of ${activity.messageId} over ${settings.maxAttachmentSizeKb} KB were left out (${dropped.map((a) => a.filename).join(", ")}). ${adviceFor("ATTACHMENT_TOO_LARGE")}`,
    });
  }
  return { outcome: saved.created ? "received" : "duplicate", emailId: saved.emailId, deletable: true };
}
