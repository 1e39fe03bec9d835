/**
 * @module When the mail server received a message, for the Process Email From cut-off
 * (docs/decisions/0017-process-email-from.md): the date of the newest (topmost) Received field
 * with a date we can read, else the Date field, else the time we fetched it.
 *
 * Every byte is the sender's except the topmost Received field (RFC 5321 §4.4: each server
 * prepends its own), so reading is bounded (the first MAX_RECEIVED_HEADERS_EXAMINED fields, the
 * first MAX_RECEIVED_DATE_CHARS characters of each date) and strict: a date that is not an RFC 5322
 * date-time (§3.3, with the obsolete forms of §4.3) is skipped, never guessed at the way
 * Date.parse would ("1" is not the year 2001).
 */
import { MAX_RECEIVED_DATE_CHARS, MAX_RECEIVED_HEADERS_EXAMINED } from "../../limits.js";

export type ReceivedTimeSource = "received" | "date" | "fetched";

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
/** RFC 5322 §4.3 obsolete zones, in minutes east of UTC; military letters mean "unknown": -0000. */
const OBS_ZONES: Record<string, number> = {
  ut: 0, gmt: 0, z: 0, est: -300, edt: -240, cst: -360, cdt: -300, mst: -420, mdt: -360, pst: -480, pdt: -420,
};

/** The text without comments (RFC 5322 §3.2.2, nested), whitespace and folding collapsed. */
function withoutComments(text: string): string {
  let depth = 0;
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\\" && depth > 0) i++; // a quoted-pair inside a comment
    else if (c === "(") depth++;
    else if (c === ")" && depth > 0) depth--;
    else if (depth === 0) out += c;
  }
  return out.replace(/\s+/g, " ").trim();
}

const DATE_TIME = /^(?:[a-z]{3} ?, ?|[a-z]{3} )?(\d{1,2}) ([a-z]{3}) (\d{2,4}) (\d{1,2}) ?: ?(\d{2})(?: ?: ?(\d{2}))?(?: ([+-]\d{4}|[a-z]{1,3}))?$/i;

/** An RFC 5322 date-time (comments allowed, obsolete forms too), or null. */
export function parseRfc5322Date(text: string): Date | null {
  const m = DATE_TIME.exec(withoutComments(text.slice(0, MAX_RECEIVED_DATE_CHARS)));
  if (!m) return null;
  const [, dd, mon, yy, hh, mi, ss, zone] = m;
  const month = MONTHS.indexOf((mon ?? "").toLowerCase());
  let year = Number(yy);
  // §4.3: two-digit years below 50 are 20xx, others and three-digit years are 1900 + the value.
  if ((yy ?? "").length === 2) year += year < 50 ? 2000 : 1900;
  else if ((yy ?? "").length === 3) year += 1900;
  const day = Number(dd);
  const hour = Number(hh);
  const minute = Number(mi);
  const second = Number(ss ?? 0);
  if (month < 0 || year < 1900 || hour > 23 || minute > 59 || second > 60) return null;
  let offset: number;
  if (zone === undefined) offset = 0;
  else if (/^[+-]/.test(zone)) {
    const zh = Number(zone.slice(1, 3));
    const zm = Number(zone.slice(3, 5));
    if (zm > 59) return null;
    offset = (zone.startsWith("-") ? -1 : 1) * (zh * 60 + zm);
  } else {
    const z = zone.toLowerCase();
    if (z in OBS_ZONES) offset = OBS_ZONES[z] ?? 0;
    else if (z.length === 1 && z !== "j") offset = 0;
    else return null;
  }
  const utc = Date.UTC(year, month, day, hour, minute, Math.min(second, 59)); // a leap second reads as :59
  const check = new Date(utc);
  // 31 Feb would roll over into March: not a date.
  if (check.getUTCDate() !== day || check.getUTCMonth() !== month) return null;
  return new Date(utc - offset * 60_000);
}

/** mailparser's headerLines: the top-level fields in order, `line` the whole field as folded. */
export interface HeaderLine {
  key: string;
  line: string;
}

/** The date of the topmost Received field whose date parses, looking at the first few only. */
export function receivedHeaderDate(headerLines: readonly HeaderLine[]): Date | null {
  let looked = 0;
  for (const h of headerLines) {
    if (h.key !== "received") continue;
    if (++looked > MAX_RECEIVED_HEADERS_EXAMINED) break;
    // RFC 5321 §4.4: the date-time follows the field's last ";".
    const semi = h.line.lastIndexOf(";");
    if (semi < 0) continue;
    const date = parseRfc5322Date(h.line.slice(semi + 1, semi + 1 + MAX_RECEIVED_DATE_CHARS));
    if (date) return date;
  }
  return null;
}

/** The time the cut-off compares with, and where it came from. */
export function receivedTime(msg: { receivedAt: Date | null; date: Date | null }, fetchedAt: Date): { at: Date; source: ReceivedTimeSource } {
  if (msg.receivedAt) return { at: msg.receivedAt, source: "received" };
  if (msg.date) return { at: msg.date, source: "date" };
  return { at: fetchedAt, source: "fetched" };
}
