/**
 * @module Text a mail server or token endpoint chose (a banner, a "-ERR" or 5xx reply, an OAuth
 * error_description), made fit to quote in an error message or alert: control characters and
 * terminal escape sequences removed, and cut to a named length. The server decides what it says,
 * so an admin console, a log viewer or a terminal must never receive its raw bytes, and a stored
 * `lastError` must not grow with whatever the server chose to send.
 */

/** The longest server reply quoted in an error message or alert, in characters. */
export const MAX_QUOTED_REPLY_CHARS = 300;
/** The longest alert message stored, quotes included: a last bound, whatever was put together. */
export const MAX_ALERT_MESSAGE_CHARS = 2000;

const ELLIPSIS = "…";

// ECMA-48 §5.4 control sequences (CSI: ESC [ or the 8-bit 0x9B, parameters, a final byte) and the
// string controls (OSC, DCS, PM, APC ... up to ST or BEL) that terminals act on; then any other
// ESC + one character.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const ESCAPE_SEQUENCE = /(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]|(?:\x1b[\]P^_]|[\x90\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?|\x1b[\s\S]?/g;
// C0 and C1 controls and DEL (\p{Cc}), and the bidirectional overrides and isolates (Unicode
// UAX #9) that can make a quoted text read differently from what it says.
const CONTROL = /[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]+/gu;

/**
 * `text` without escape sequences or control characters; each run of them (a tab, a line break)
 * becomes one space, so the words on either side stay apart.
 */
export function cleanText(text: string): string {
  return text.replace(ESCAPE_SEQUENCE, "").replace(CONTROL, " ").replace(/ {2,}/g, " ").trim();
}

/** Cuts `text` to at most `max` characters (an ellipsis marks the cut), never inside a surrogate pair. */
export function cutShort(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - ELLIPSIS.length;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return `${text.slice(0, end)}${ELLIPSIS}`;
}

/**
 * A server's own words, clean and short, ready to put in a message: `quoteServer(reply.line)`.
 * Cleaning comes first, so the limit counts only characters the reader will see.
 */
export function quoteServer(text: string, max = MAX_QUOTED_REPLY_CHARS): string {
  return cutShort(cleanText(text), max);
}
