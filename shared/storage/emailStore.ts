/**
 * @module Email activities. The Message-ID is a unique key across the org, so the same message
 * reaching two mailboxes (or fetched twice) is one activity; lookup rows find activities by
 * mailbox, tracking token, conversation and normalized subject without scanning.
 */
import { createHash } from "node:crypto";
import type { TableClient } from "@azure/data-tables";
import type { EmailActivity } from "../domain/email.js";
import { DocumentTable } from "./documentTable.js";

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
};

export function createEmailTable(client: TableClient): DocumentTable<EmailActivity> {
  return new DocumentTable<EmailActivity>(client, {
    partition: "email",
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
    ],
  });
}
