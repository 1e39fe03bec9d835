/**
 * @module Cutting what a sender wrote down to what an activity may hold (shared/limits.ts).
 * Every cut is recorded as a Truncation, so the activity says what was left out; the whole
 * message is always in the raw blob.
 */
import { createHash } from "node:crypto";
import type { Truncation } from "../../domain/email.js";
import { MAX_MESSAGE_ID_CHARS } from "../../limits.js";

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
// C0 and C1 controls and DEL: never useful in a one-line value, and some break storage and logs.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]+/g;

/** A one-line value (subject, name, address): well-formed UTF-16, controls folded to a space. */
export function cleanLine(value: string): string {
  return value.replace(LONE_SURROGATE, "\uFFFD").replace(CONTROLS, " ");
}

/** A body: well-formed UTF-16 and no NUL (the rest of the text is the sender's to keep). */
export function cleanBody(value: string): string {
  // eslint-disable-next-line no-control-regex -- NUL is what we look for
  return value.replace(LONE_SURROGATE, "\uFFFD").replace(/\u0000/g, "\uFFFD");
}

/** Collects what was cut while a message is turned into an activity. */
export class Cuts {
  readonly list: Truncation[] = [];

  text(field: string, value: string, max: number): string {
    if (value.length <= max) return value;
    this.list.push({ field, kept: max, total: value.length, unit: "characters" });
    // Do not end on the first half of a surrogate pair.
    const end = /[\uD800-\uDBFF]/.test(value.charAt(max - 1)) ? max - 1 : max;
    return value.slice(0, end);
  }

  /** Keeps the first `max` items (or the last, for References: the newest are at the end). */
  items<T>(field: string, values: readonly T[], max: number, keep: "first" | "last" = "first"): T[] {
    if (values.length <= max) return [...values];
    this.list.push({ field, kept: max, total: values.length, unit: "items" });
    return keep === "first" ? values.slice(0, max) : values.slice(values.length - max);
  }
}

/**
 * A Message-ID as the activity stores it and as References are matched against it: cleaned,
 * and, when longer than MAX_MESSAGE_ID_CHARS, replaced by a stable digest of the original, so
 * the same long id still finds the same activity. Empty ids count as missing.
 */
export function boundedMessageId(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const id = cleanLine(value).trim();
  if (id === "" || id === "<>") return null;
  if (id.length <= MAX_MESSAGE_ID_CHARS) return id;
  return `<${createHash("sha256").update(value).digest("hex")}@long-message-id.invalid>`;
}
