/**
 * @module `POST /api/emails`: a new outgoing email in `pendingSend`. Everything that must be the
 * same on every attempt is fixed here, once: the Message-ID, the tracking token, the threading
 * headers and the exact MIME bytes, stored as `outgoing/<id>.eml` before the activity exists.
 * Then the mailbox is put on the due index (the safety net) and, when it may send now, on the queue.
 *
 * With an Idempotency-Key, a client that retries after a lost answer gets the email it created
 * the first time instead of a second one that would be sent too (docs/decisions/0009).
 */
import { createHash, randomUUID } from "node:crypto";
import { AppError, validationFailed, type ErrorDetail } from "../../errors.js";
import { normalizeSubject, type EmailActivity, type EmailCreate } from "../../domain/email.js";
import { ineligibility, type Mailbox } from "../../domain/mailbox.js";
import type { OrgSettings } from "../../domain/orgSettings.js";
import type { Services } from "../../runtime/services.js";
import type { Stored } from "../../storage/documentTable.js";
import { emailLookup, outgoingEmailId } from "../../storage/emailStore.js";
import { QUEUES, TABLES } from "../../storage/names.js";
import { composeMessage } from "./compose.js";
import { formatToken, TrackingNumbers } from "./trackingToken.js";
import { fitBodies } from "./fitActivity.js";
import { ContentDigest } from "../incoming/contentDigest.js";

export const outgoingBlobName = (emailId: string): string => `outgoing/${emailId}.eml`;
/** Keeps the References header of a long thread bounded (RFC 5322 §3.6.4 allows trimming). */
const MAX_REFERENCES = 50;

function decodeAttachments(input: EmailCreate["attachments"], maxKb: number, problems: ErrorDetail[]): Buffer[] {
  return input.map((a, i) => {
    const content = Buffer.from(a.contentBase64, "base64");
    if (content.length > maxKb * 1024) {
      problems.push({ path: `attachments.${i}.contentBase64`, message: `is ${Math.ceil(content.length / 1024)} KB; attachments may be at most ${maxKb} KB (settings.maxAttachmentSizeKb)` });
    }
    return content;
  });
}

function checkMailbox(m: Mailbox | undefined, problems: ErrorDetail[]): void {
  if (!m) problems.push({ path: "mailboxId", message: "no mailbox has this id" });
  else if (m.isForwardMailbox) problems.push({ path: "mailboxId", message: "a forward mailbox sends nothing" });
  else if (m.outgoingMethod === "none") problems.push({ path: "mailboxId", message: "the mailbox's outgoing method is none" });
}

async function nextToken(services: Services, mailbox: Mailbox, settings: OrgSettings): Promise<string | null> {
  if (!settings.trackingToken.enabled) return null;
  const { userNumber, counter } = await new TrackingNumbers(services.storage.table(TABLES.coordination)).next(mailbox.owner);
  return formatToken(settings.trackingToken, userNumber, counter);
}

export interface CreatedEmail {
  saved: Stored<EmailActivity>;
  /** The Idempotency-Key was seen before: `saved` is the email that request created. */
  replayed: boolean;
}

type Idempotency = NonNullable<EmailActivity["idempotency"]>;

/** The email an earlier request with this key created, if any; a different request with it is refused. */
async function earlierWithKey(services: Services, idem: Idempotency): Promise<Stored<EmailActivity> | undefined> {
  const id = await services.emails.idByUniqueKey(emailLookup.idempotencyKey(idem.key));
  const earlier = id === undefined ? undefined : await services.emails.get(id);
  if (earlier && earlier.doc.idempotency?.requestSha256 !== idem.requestSha256) {
    throw new AppError("IDEMPOTENCY_KEY_REUSED", `This Idempotency-Key created email ${earlier.doc.id} at ${earlier.doc.createdAt} from a different request; use a new key for a new email.`);
  }
  return earlier;
}

/**
 * The email of the request that won a race on the key. Its key row is claimed before its document
 * is written (they live in different partitions, decision 0027), so the winner may be a moment
 * from existing: look a few times before giving up.
 */
async function winnerWithKey(services: Services, idem: Idempotency): Promise<Stored<EmailActivity> | undefined> {
  for (let attempt = 0; attempt < WINNER_LOOKS; attempt++) {
    const found = await earlierWithKey(services, idem);
    if (found) return found;
    await new Promise((r) => setTimeout(r, WINNER_LOOK_MS));
  }
  return undefined;
}
/** How long a request that lost a race on its Idempotency-Key waits for the winner's email: 20 x 100 ms. */
const WINNER_LOOKS = 20;
const WINNER_LOOK_MS = 100;

export async function createOutgoingEmail(services: Services, input: EmailCreate, idempotencyKey?: string): Promise<CreatedEmail> {
  // The request as validated (defaults filled), so the same email sent twice hashes the same.
  const idempotency = idempotencyKey === undefined ? undefined
    : { key: idempotencyKey, requestSha256: createHash("sha256").update(JSON.stringify(input)).digest("hex") };
  const replay = idempotency && await earlierWithKey(services, idempotency);
  if (replay) return { saved: replay, replayed: true };
  const problems: ErrorDetail[] = [];
  const mailbox = (await services.repos.mailboxes.get(input.mailboxId))?.doc;
  checkMailbox(mailbox, problems);
  const { settings } = await services.settings.get();
  const contents = decodeAttachments(input.attachments, settings.maxAttachmentSizeKb, problems);
  const parent = input.inReplyToEmailId ? (await services.emails.get(input.inReplyToEmailId))?.doc : undefined;
  if (input.inReplyToEmailId && !parent) problems.push({ path: "inReplyToEmailId", message: "no email has this id" });
  if (problems.length > 0 || !mailbox) throw validationFailed(problems);

  const now = services.clock.now();
  const id = outgoingEmailId(mailbox.id);
  const token = await nextToken(services, mailbox, settings);
  const subject = token ? [input.subject, token].filter((s) => s !== "").join(" ") : input.subject;
  const domain = mailbox.emailAddress.slice(mailbox.emailAddress.lastIndexOf("@") + 1);
  const messageId = `<${randomUUID()}@${domain}>`;
  const threadBase = parent ? (parent.references.length > 0 ? parent.references : parent.inReplyTo ? [parent.inReplyTo] : []) : [];
  const references = parent ? [...threadBase, parent.messageId].slice(-MAX_REFERENCES) : [];
  const from = { address: mailbox.emailAddress, name: mailbox.owner.name ?? "" };
  const attachments = input.attachments.map((a, i) => ({ filename: a.filename, contentType: a.contentType, content: contents[i] ?? Buffer.alloc(0) }));
  const raw = await composeMessage({
    messageId, date: now, from, to: input.to, cc: input.cc, subject, text: input.text, html: input.html,
    inReplyTo: parent?.messageId ?? null, references, attachments,
  });
  const upload = await services.raw.uploadBuffer(outgoingBlobName(id), raw);
  // A tracked mailbox that receives this message joins it only if the body is ours (activity.ts).
  const digest = new ContentDigest();
  digest.update(raw);
  const asAddress = (address: string): { address: string; name: string } => ({ address, name: "" });
  const email: EmailActivity = {
    id, createdAt: now.toISOString(), updatedAt: now.toISOString(), mailboxId: mailbox.id,
    direction: "outgoing", status: "pendingSend",
    messageId, inReplyTo: parent?.messageId ?? null, references,
    conversationId: parent?.conversationId ?? id, trackingToken: token,
    correlatedEmailId: parent?.id ?? null, correlationMethod: parent ? "inReplyTo" : "none",
    from, to: input.to.map(asAddress), cc: input.cc.map(asAddress), bcc: input.bcc.map(asAddress),
    subject, textBody: input.text ?? "", htmlBody: input.html ?? null,
    attachments: attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, size: a.content.length })),
    sizeBytes: upload.sizeBytes, sha256: upload.sha256, receivedAt: null, sentAt: null,
    error: null, attempts: 0, nextAttemptAt: null, receivedByMailboxIds: [],
    contentDigest: digest.digest(upload.sha256),
    rawBlob: upload.blobName, normalizedSubject: normalizeSubject(subject), ...(idempotency ? { idempotency } : {}),
  };
  let saved: Stored<EmailActivity>;
  try {
    saved = await services.emails.create(fitBodies(email));
  } catch (err) {
    // Two requests with one key at once: the index row lets one commit; the other answers with it.
    const winner = idempotency && err instanceof AppError && err.code === "CONFLICT" ? await winnerWithKey(services, idempotency) : undefined;
    if (!winner) throw err;
    await services.raw.delete(upload.blobName).catch(() => undefined);
    return { saved: winner, replayed: true };
  }
  await handOff(services, mailbox, settings, now, id);
  return { saved, replayed: false };
}

/**
 * Never fails the request: the email exists, and a client retrying a failed POST would create
 * it twice. What is not handed off here the scheduler finds through the due index.
 */
async function handOff(services: Services, mailbox: Mailbox, settings: OrgSettings, now: Date, emailId: string): Promise<void> {
  const fields = { emailId, mailboxId: mailbox.id };
  await services.due.schedule("outgoing", mailbox.id, now)
    .catch((err: unknown) => services.log.warn("pending send not put on the due index", { ...fields, err }));
  if (ineligibility(mailbox, "outgoing", settings, now) !== null) return;
  await services.queue.send(QUEUES.outgoing, { mailboxId: mailbox.id })
    .catch((err: unknown) => services.log.warn("pending send not enqueued; the scheduler will pick it up", { ...fields, err }));
}
