/**
 * @module Email activities. The Message-ID is a unique key across the org, so the same message
 * reaching two mailboxes (or fetched twice) is one activity; lookup rows find activities by
 * mailbox, tracking token, conversation and normalized subject without scanning.
 */
import { createHash } from "node:crypto";
import type { TableClient } from "@azure/data-tables";
import type { EmailActivity } from "../domain/email.js";
import { boundedKey, DocumentTable, type DocumentTableOptions } from "./documentTable.js";
import { bucketOfKey, bucketPartition, emailDocPartition, emailKeyPartition, LEGACY_PARTITION, newEmailId, outboxBucket } from "./emailPartitions.js";

const subjectKey = (normalized: string): string => createHash("sha256").update(normalized).digest("hex").slice(0, 32);

export const emailLookup = {
  mailbox: (id: string): string => `mailbox:${id}`,
  token: (token: string): string => `token:${token.toLowerCase()}`,
  /**
   * Outgoing emails only, by the token they were sent with: the anchor a reply correlates to.
   * Separate from `token`, so incoming mail quoting a token (anyone can send it) never crowds the
   * sender's own email out of the bounded lookup.
   */
  tokenIssued: (token: string): string => `token-out:${token.toLowerCase()}`,
  conversation: (id: string): string => `conv:${id}`,
  subject: (normalized: string): string => `subject:${subjectKey(normalized)}`,
  messageId: (messageId: string): string => `msgid:${messageId}`,
  /** The key of a message whose Message-ID another message (other content) already holds. */
  messageIdWithDigest: (messageId: string, digest: string): string => `msgid:${messageId}#${digest}`,
  idempotencyKey: (key: string): string => `idem:${key}`,
  /** Outgoing emails not settled yet (pendingSend, sending): what a send run works through. */
  unfinished: (mailboxId: string): string => `unfinished:${mailboxId}`,
};

/** A new incoming activity's id: its document lives with the row of its Message-ID key (one transaction). */
export const incomingEmailId = (messageIdKey: string): string => newEmailId(bucketOfKey(boundedKey(messageIdKey)));

/** A new outgoing email's id: it lives with its mailbox's other sends, their counters and unfinished index. */
export const outgoingEmailId = (mailboxId: string): string => newEmailId(outboxBucket(mailboxId));

/** The partition of a mailbox's sends and their counters (LEGACY_PARTITION for emails stored before decision 0027). */
export const outboxPartition = (mailboxId: string): string => bucketPartition(outboxBucket(mailboxId));

export { emailDocPartition, LEGACY_PARTITION };

/** An outgoing email not settled yet: what a send run works through (the `unfinished` index). */
export const isUnfinished = (e: EmailActivity): boolean => e.direction === "outgoing" && (e.status === "pendingSend" || e.status === "sending");

/** The emails table as one partition, the layout before decision 0027 (tests write legacy rows with it). */
export function createLegacyEmailTable(client: TableClient): DocumentTable<EmailActivity> {
  const { partitions: _p, ...legacy } = emailTableOptions;
  return new DocumentTable<EmailActivity>(client, legacy);
}

export function createEmailTable(client: TableClient): DocumentTable<EmailActivity> {
  return new DocumentTable<EmailActivity>(client, emailTableOptions);
}

const emailTableOptions: DocumentTableOptions<EmailActivity> = {
  partition: LEGACY_PARTITION,
  partitions: {
    ofDoc: emailDocPartition,
    ofKey: (segment, key) => (key.startsWith("unfinished:") ? outboxPartition(key.slice("unfinished:".length)) : emailKeyPartition(segment, key)),
  },
  noun: "Email",
  indexFields: (e) => ({
    direction: e.direction,
    status: e.status,
    mailboxId: e.mailboxId,
    conversationId: e.conversationId,
    nextAttemptAt: e.nextAttemptAt,
  }),
  uniqueKeys: (e) => [
    { key: e.messageIdKey ?? emailLookup.messageId(e.messageId), conflictMessage: `An email with Message-ID ${e.messageId} already exists.` },
    ...(e.idempotency ? [{ key: emailLookup.idempotencyKey(e.idempotency.key), conflictMessage: "An email with this Idempotency-Key already exists." }] : []),
  ],
  lookupKeys: (e) => [
    ...new Set([e.mailboxId, ...e.receivedByMailboxIds].map(emailLookup.mailbox)),
    ...(e.trackingToken ? [emailLookup.token(e.trackingToken)] : []),
    ...(e.trackingToken && e.direction === "outgoing" ? [emailLookup.tokenIssued(e.trackingToken)] : []),
    emailLookup.conversation(e.conversationId),
    ...(e.normalizedSubject ? [emailLookup.subject(e.normalizedSubject)] : []),
    ...(isUnfinished(e) ? [emailLookup.unfinished(e.mailboxId)] : []),
  ],
};
