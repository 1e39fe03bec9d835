/**
 * @module Named limits on everything a sender of mail controls. Every byte of an incoming
 * message is written by a stranger, so each size, count and length that can reach a storage key,
 * a table property, a query or memory is capped here, once, with its reason. docs/limits.md lists
 * them for admins; the tests push past each one.
 *
 * Values follow what mail servers already enforce, so that legitimate mail never meets them:
 * RFC 5322 §2.1.1 (998-character lines), RFC 5321 §4.5.3 (path lengths, 100 recipients),
 * Postfix's defaults (header_size_limit 100 KiB, mime_nesting_limit 100).
 */

/** Storage keys ---------------------------------------------------------------------------- */

/**
 * A PartitionKey or RowKey holds at most 1 KiB, a blob name 1,024 characters. A key built from
 * message content (a Message-ID, a UIDL, an address) whose encoded form is longer than this is
 * replaced by its SHA-256, so no sender can make a key too long or make two keys collide.
 */
export const MAX_CONTENT_KEY_CHARS = 256;

/** Header values kept on the activity (the whole header is always in the raw blob) ----------- */

/** RFC 5322 §2.1.1: a line is at most 998 characters; one Message-ID never needs more. */
export const MAX_MESSAGE_ID_CHARS = 998;
/** The subject shown and matched on; Outlook and Dynamics show far less. */
export const MAX_SUBJECT_CHARS = 998;
/** RFC 5321 §4.5.3.1: local part 64 + "@" + domain 255. */
export const MAX_ADDRESS_CHARS = 320;
/** A display name is for people to read. */
export const MAX_DISPLAY_NAME_CHARS = 256;
/** RFC 6838 §4.2: type and subtype names of 127 characters each. */
export const MAX_CONTENT_TYPE_CHARS = 255;
/** The common file-system limit on a file name. */
export const MAX_FILENAME_CHARS = 255;

/** Lists taken from a message (kept on the activity, with a count of what was left out) ------- */

/** RFC 5321 §4.5.3.1.8: a server need accept no more than 100 recipients per message. */
export const MAX_RECIPIENTS_PER_FIELD = 100;
/** References kept on the activity (the newest, RFC 5322 §3.6.4 appends in order). */
export const MAX_REFERENCES = 50;
/** Attachments listed on the activity. */
export const MAX_ATTACHMENTS_LISTED = 100;

/** Work done per message ---------------------------------------------------------------------- */

/** In-Reply-To plus this many of the newest References are looked up, in parallel, once each. */
export const CORRELATION_REFERENCES = 5;
/** Activities sharing a tracking token that are read to find the one that issued it. */
export const MAX_TOKEN_CANDIDATES = 10;
/** Activities with the same normalized subject compared by smart matching (newest first). */
export const MAX_SMART_MATCH_CANDIDATES = 10;
/** Digits after a tracking-token prefix; we issue at most 30 (baseNumber + user + counter). */
export const MAX_TRACKING_TOKEN_DIGITS = 30;
/** A forward mailbox's message: recipients of the original checked for a matching mailbox. */
export const MAX_FORWARD_RECIPIENTS_CHECKED = 20;
/**
 * Received header fields looked at, from the top, for the time the mail server received a message
 * (the Process Email From cut-off, receivedTime.ts). The topmost is the receiving server's own; the
 * deeper ones are more and more the sender's to write. Postfix refuses mail with 50 (hopcount_limit).
 */
export const MAX_RECEIVED_HEADERS_EXAMINED = 10;
/** Characters after a Received field's last ";" read as its date (an RFC 5322 date-time is ~31, plus comments). */
export const MAX_RECEIVED_DATE_CHARS = 200;
/**
 * A forwarded message whose recipients match no mailbox allowed to receive it is looked at again
 * (fetched and matched anew) after 1 hour, then twice as long each time up to a day, at most this
 * many times (about 10 days in all), so a mailbox created or approved later still gets it.
 */
export const MAX_FORWARD_RECONSIDERATIONS = 14;
export const FORWARD_RECONSIDER_FIRST_MS = 60 * 60_000;
export const FORWARD_RECONSIDER_MAX_MS = 24 * 60 * 60_000;
/**
 * MIME parts in one message (the parser's maxChildNodes). A message with more is not parsed:
 * it is quarantined with MESSAGE_LIMIT_EXCEEDED. Postfix's mime_nesting_limit (100) bounds
 * depth only; counting parts bounds work too.
 */
export const MAX_MIME_PARTS = 1000;
/** Header bytes of one MIME part (the parser's maxHeadSize); Postfix keeps 100 KiB per header. */
export const MAX_PART_HEADER_BYTES = 1024 * 1024;

/** Sizes ---------------------------------------------------------------------------------------- */

/**
 * A message larger than this (by the server's LIST size) is not downloaded at all: it is recorded
 * as quarantined (MESSAGE_TOO_LARGE) and left on the server. Below it, a message over the org's
 * maxMessageSizeKb is streamed to Blob Storage and quarantined without being parsed.
 */
export const MAX_DOWNLOAD_BYTES = 512 * 1024 * 1024;
/**
 * A message up to this size keeps its raw bytes in a row beside its activity, written in the
 * activity's own transaction, instead of a blob: one Storage request per message instead of two
 * (decision 0029). Larger messages, and bytes no activity owns yet, go to Blob Storage.
 */
export const MAX_INLINE_RAW_BYTES = 240 * 1024;
/** How far a RETR body may exceed its LIST size before the server is taken to be lying. */
export const LIST_SIZE_SLACK_BYTES = 1024 * 1024;
