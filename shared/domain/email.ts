/**
 * @module Email activities (API.md "Email activities"): what the sync creates from fetched mail
 * and what users queue for sending.
 */
import { z } from "zod";
import { emailAddress, errorSummary } from "./common.js";

export const emailStatus = z.enum(["received", "quarantined", "draft", "pendingSend", "sending", "sent", "failed", "canceled"]);
export const emailDirection = z.enum(["incoming", "outgoing"]);
export const correlationMethod = z.enum(["none", "inReplyTo", "trackingToken", "smartMatching"]);

export interface Address {
  address: string;
  name: string;
}

export interface AttachmentInfo {
  filename: string;
  contentType: string;
  size: number;
}

/** Something the sender wrote that was cut to a limit (shared/limits.ts); the raw blob has it whole. */
export interface Truncation {
  /** The activity field, e.g. "subject", "references", "to". */
  field: string;
  kept: number;
  total: number;
  unit: "characters" | "items";
}

export interface EmailActivity {
  id: string;
  createdAt: string;
  updatedAt: string;
  mailboxId: string;
  direction: z.infer<typeof emailDirection>;
  status: z.infer<typeof emailStatus>;
  messageId: string;
  inReplyTo: string | null;
  references: string[];
  conversationId: string;
  trackingToken: string | null;
  correlatedEmailId: string | null;
  correlationMethod: z.infer<typeof correlationMethod>;
  from: Address | null;
  to: Address[];
  cc: Address[];
  bcc: Address[];
  subject: string;
  textBody: string;
  htmlBody: string | null;
  attachments: AttachmentInfo[];
  sizeBytes: number;
  sha256: string;
  receivedAt: string | null;
  sentAt: string | null;
  error: z.infer<typeof errorSummary> | null;
  attempts: number;
  nextAttemptAt: string | null;
  receivedByMailboxIds: string[];
  /** What was cut to a limit (incoming mail); absent on activities written before limits existed. */
  truncated?: Truncation[];
  /**
   * SHA-256 of the body bytes (after the header section): copies of one message delivered to
   * several mailboxes differ in their trace headers but not here (not part of the API view).
   */
  contentDigest?: string;
  /**
   * The unique key this activity holds when another message already held its Message-ID with
   * other content (activity.ts); absent when it holds the Message-ID itself (not part of the API view).
   */
  messageIdKey?: string;
  /**
   * Blob holding the raw bytes; with `rawInline`, the name the bytes would have had, which tells
   * one fetch from another (not part of the API view).
   */
  rawBlob: string | null;
  /** The raw bytes are in the activity's sidecar row, not in `rawBlob` (not part of the API view). */
  rawInline?: boolean;
  /** Normalized subject, for smart matching (not part of the API view). */
  normalizedSubject: string;
  /** `POST /api/emails` sent with an Idempotency-Key: the key and a hash of the request (not part of the API view). */
  idempotency?: { key: string; requestSha256: string };
}

const addressView = z.object({ address: z.string(), name: z.string() });

export const emailView = z.object({
  id: z.string(), etag: z.string(), createdAt: z.string(), updatedAt: z.string(),
  mailboxId: z.string(), direction: emailDirection, status: emailStatus,
  messageId: z.string(), inReplyTo: z.string().nullable(), references: z.array(z.string()),
  conversationId: z.string(), trackingToken: z.string().nullable(), correlatedEmailId: z.string().nullable(),
  correlationMethod,
  from: addressView.nullable(), to: z.array(addressView), cc: z.array(addressView), bcc: z.array(addressView),
  subject: z.string(), textBody: z.string(), htmlBody: z.string().nullable(),
  attachments: z.array(z.object({ filename: z.string(), contentType: z.string(), size: z.number() })),
  sizeBytes: z.number(), sha256: z.string(), receivedAt: z.string().nullable(), sentAt: z.string().nullable(),
  error: errorSummary.nullable(), attempts: z.number(), nextAttemptAt: z.string().nullable(),
  receivedByMailboxIds: z.array(z.string()),
  truncated: z.array(z.object({
    field: z.string(), kept: z.number(), total: z.number(), unit: z.enum(["characters", "items"]),
  })).describe("What the sender wrote beyond a documented limit (docs/limits.md) and was cut; the raw message has it whole."),
});
export type EmailView = z.infer<typeof emailView>;

export function toEmailView(e: EmailActivity, etag: string): EmailView {
  const { rawBlob: _raw, rawInline: _inline, normalizedSubject: _ns, idempotency: _idem, contentDigest: _cd, messageIdKey: _mk, ...view } = e;
  return { ...view, truncated: e.truncated ?? [], etag };
}

export const emailListQuery = z.strictObject({
  mailboxId: z.string().min(1).optional(),
  direction: emailDirection.optional(),
  status: emailStatus.optional(),
  conversationId: z.string().min(1).optional(),
});

/** Subject without RE:/FW: prefixes (in several languages), whitespace folded, lower-cased. */
export function normalizeSubject(subject: string): string {
  let s = subject.trim();
  for (;;) {
    const next = s.replace(/^\s*(re|fw|fwd|aw|wg|sv|vs|tr|rif|enc|r)\s*(\[\d+\])?\s*:\s*/i, "");
    if (next === s) break;
    s = next;
  }
  return s.replace(/\s+/g, " ").trim().toLowerCase();
}

/** The Message-ID of mail that has none: stable for the same bytes, so a re-fetch dedupes. */
export const syntheticMessageId = (sha256Hex: string): string => `<${sha256Hex}@message-id.invalid>`;

export const sendAttachment = z.strictObject({
  filename: z.string().min(1).max(255).regex(/^[^\r\n"\\/]+$/, "must not contain line breaks, quotes or slashes"),
  contentType: z.string().min(3).max(255).regex(/^[\w.+-]+\/[\w.+-]+$/, "must be a MIME type like application/pdf"),
  contentBase64: z.string().regex(/^[A-Za-z0-9+/\r\n]*={0,2}$/, "must be base64"),
});

const MAX_RECIPIENTS = 100;

/** A recipient: refused with any CR/LF, also at the ends (trimming must not hide a header injection). */
const recipient = z.string().regex(/^[^\r\n]*$/, "must not contain line breaks").pipe(emailAddress);

export const emailCreate = z
  .strictObject({
    mailboxId: z.string().min(1),
    to: z.array(recipient).max(MAX_RECIPIENTS).default([]),
    cc: z.array(recipient).max(MAX_RECIPIENTS).default([]),
    bcc: z.array(recipient).max(MAX_RECIPIENTS).default([]),
    subject: z.string().max(998).regex(/^[^\r\n]*$/, "must not contain line breaks"),
    text: z.string().max(5_000_000).optional(),
    html: z.string().max(10_000_000).optional(),
    attachments: z.array(sendAttachment).max(100).default([]),
    inReplyToEmailId: z.string().min(1).optional(),
  })
  .superRefine((v, ctx) => {
    const recipients = v.to.length + v.cc.length + v.bcc.length;
    if (recipients === 0) ctx.addIssue({ code: "custom", path: ["to"], message: "at least one recipient (to, cc or bcc) is required" });
    // RFC 5321 §4.5.3.1.8: a server must take 100 recipients per message; more may be refused.
    if (recipients > MAX_RECIPIENTS) ctx.addIssue({ code: "custom", path: ["to"], message: `at most ${MAX_RECIPIENTS} recipients (to, cc and bcc together)` });
    if (v.text === undefined && v.html === undefined) ctx.addIssue({ code: "custom", path: ["text"], message: "text or html is required" });
  });
export type EmailCreate = z.infer<typeof emailCreate>;

/** The optional `Idempotency-Key` header of `POST /api/emails`: visible ASCII and spaces, as Stripe and the IETF draft use it. */
export const idempotencyKey = z.string().regex(/^[\x20-\x7e]{1,255}$/, "must be 1-255 printable ASCII characters");
