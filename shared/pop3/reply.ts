/**
 * @module Parses one POP3 status line. Only status lines ever become strings; bodies stay bytes.
 */

export interface Pop3Reply {
  /** "+OK" (RFC 1939 §3). */
  ok: boolean;
  /** "+ " SASL continuation, valid only during AUTH (RFC 5034 §4). */
  continuation: boolean;
  /** RFC 2449 §8 response code, upper-cased, e.g. "SYS/TEMP", "IN-USE"; undefined when absent. */
  code: string | undefined;
  /** Text after the status indicator and response code. */
  text: string;
  /** The whole line as received (without CRLF), for error reports. */
  line: string;
}

// RFC 2449 §8: resp-code = "[" resp-level *("/" resp-level) "]", resp-level = 1*(ALPHA / "-")
const RESP_CODE = /^\[([A-Za-z-]+(?:\/[A-Za-z-]+)*)\]\s?/;

/** undefined when the line is neither +OK, -ERR nor a "+" continuation: a protocol error. */
export function parseReply(raw: Buffer): Pop3Reply | undefined {
  const line = raw.toString("utf8");
  const status = /^(\+OK|-ERR|\+)(?: |$)/i.exec(line);
  if (!status) return undefined;
  const indicator = (status[1] ?? "").toUpperCase();
  let text = line.slice(status[0].length);
  let code: string | undefined;
  const m = RESP_CODE.exec(text);
  if (m && indicator !== "+") {
    code = (m[1] ?? "").toUpperCase();
    text = text.slice(m[0].length);
  }
  return { ok: indicator === "+OK", continuation: indicator === "+", code, text, line };
}

/** True when `code` is `family` or one of its sub-codes (RFC 2449 §8 hierarchy). */
export function hasCode(reply: Pop3Reply, family: string): boolean {
  const c = reply.code;
  return c !== undefined && (c === family || c.startsWith(`${family}/`));
}
