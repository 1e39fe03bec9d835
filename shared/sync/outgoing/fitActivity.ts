/**
 * @module The activity keeps its text and HTML bodies only as far as they fit its table row;
 * the whole message is always in the raw blob (`GET /api/emails/{id}/raw`). DocumentTable stores
 * a document as one JSON property, and a Table Storage property holds 64 KiB of UTF-16.
 */
import type { EmailActivity } from "../../domain/email.js";

/** JSON characters of one document, with room left for the growth of later updates (error text). */
export const MAX_DOC_CHARS = 28_000;

const jsonChars = (s: string): number => JSON.stringify(s).length - 2;

/** The longest prefix of `s` whose JSON form has at most `max` characters. */
function cut(s: string, max: number): string {
  if (max <= 0) return "";
  let t = s.slice(0, max);
  while (jsonChars(t) > max) t = t.slice(0, Math.floor(t.length * 0.9));
  return t;
}

export function fitBodies(e: EmailActivity): EmailActivity {
  const fixed = JSON.stringify({ ...e, textBody: "", htmlBody: e.htmlBody === null ? null : "" }).length;
  const budget = MAX_DOC_CHARS - fixed;
  if (jsonChars(e.textBody) + (e.htmlBody === null ? 0 : jsonChars(e.htmlBody)) <= budget) return e;
  const textBody = cut(e.textBody, e.htmlBody === null ? budget : Math.floor(budget / 2));
  const htmlBody = e.htmlBody === null ? null : cut(e.htmlBody, budget - jsonChars(textBody));
  return { ...e, textBody, htmlBody };
}
