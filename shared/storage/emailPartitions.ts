/**
 * @module Where the rows of the emails table live (decision 0027). The table is spread over
 * EMAIL_BUCKETS partitions so no partition carries the whole organisation's mail:
 *  - an activity's document row lives in the bucket its id names. New ids are ULIDs whose first
 *    two random characters carry the bucket; the creator picks the bucket of the activity's
 *    Message-ID key, so the document and its unique row share a transaction (uniqueness stays
 *    atomic) and a Message-ID still finds its activity with one point read;
 *  - a unique or lookup row lives in the bucket of its key (a hash), so every lookup is one
 *    partition's range or point read. A conversation's rows live with the conversation's first
 *    activity, so a new thread's row goes in the activity's own transaction; a kind with many
 *    small rows per message (the smart-matching subject index) uses fewer buckets, so one poll's
 *    rows share transactions;
 *  - activities stored before the split keep their UUID ids and stay in LEGACY_PARTITION; their
 *    unique and lookup rows are moved to their buckets at start-up (partitionEmails.ts).
 */
import { createHash, randomInt } from "node:crypto";

export const EMAIL_BUCKETS = 64;
/** Subject lookups (written for every message, read only by smart matching) share fewer partitions. */
export const SUBJECT_BUCKETS = 16;
/** Every row of the emails table before decision 0027. */
export const LEGACY_PARTITION = "email";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export const bucketPartition = (bucket: number): string => `b${bucket.toString(16).padStart(2, "0")}`;

export const isUlid = (id: string): boolean => ULID.test(id);

/** The bucket a new-layout id names (characters 11 and 12, the first of its random part). */
function bucketOfUlid(id: string): number {
  return (CROCKFORD.indexOf(id[10] ?? "0") * 32 + CROCKFORD.indexOf(id[11] ?? "0")) % EMAIL_BUCKETS;
}

/** The partition of an email's document row. */
export function emailDocPartition(id: string): string {
  return isUlid(id) ? bucketPartition(bucketOfUlid(id)) : LEGACY_PARTITION;
}

/** A bucket from a key's stored form (the encoded key segment of its row). */
export function bucketOfKey(segment: string, buckets = EMAIL_BUCKETS): number {
  return createHash("sha256").update(segment).digest()[0]! % buckets;
}

/**
 * A new email id (a ULID: 48-bit time, 80 random bits) whose document lives in `bucket`. Its
 * random part starts with two characters chosen so that bucketOfUlid gives `bucket` back.
 */
export function newEmailId(bucket: number, now = Date.now()): string {
  let time = "";
  for (let t = now, i = 0; i < 10; i++, t = Math.floor(t / 32)) time = CROCKFORD[t % 32] + time;
  const high = Math.floor(bucket / 32); // 0 or 1
  const first = CROCKFORD[2 * randomInt(16) + high] ?? "0";
  const second = CROCKFORD[bucket % 32] ?? "0";
  let rest = "";
  for (let i = 0; i < 14; i++) rest += CROCKFORD[randomInt(32)];
  return time + first + second + rest;
}

/** The partition of a unique or lookup row, from its key and the key's stored segment. */
export function emailKeyPartition(segment: string, key: string): string {
  if (key.startsWith("conv:")) {
    const conversationId = key.slice("conv:".length);
    if (isUlid(conversationId)) return emailDocPartition(conversationId);
  }
  if (key.startsWith("subject:")) return bucketPartition(bucketOfKey(segment, SUBJECT_BUCKETS));
  return bucketPartition(bucketOfKey(segment));
}

/** The bucket where a mailbox's outgoing emails and their counters live (one partition per mailbox's sends). */
export function outboxBucket(mailboxId: string): number {
  return bucketOfKey(`outbox:${mailboxId}`);
}
