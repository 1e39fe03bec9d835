/**
 * @module The activity keeps its text and HTML bodies only as far as they fit its table row;
 * the whole message is always in the raw blob (`GET /api/emails/{id}/raw`). An entity holds 1 MiB
 * at most, so bodies beyond about 400K characters are cut.
 */
import type { EmailActivity } from "../../domain/email.js";
import { MAX_DOC_CHARS as DOC_LIMIT } from "../../storage/documentTable.js";

/**
 * JSON characters of one document (DocumentTable splits it across properties), with room left
 * for the growth of later updates (error text, more receiving mailboxes).
 */
export const MAX_DOC_CHARS = DOC_LIMIT - 50_000;

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
