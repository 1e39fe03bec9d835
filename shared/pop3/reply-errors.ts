/**
 * @module Turns a "-ERR" reply into the AppError the rest of the app acts on.
 * RFC 3206 codes decide when present; otherwise the step that failed decides. The message quotes
 * the server's line, cleaned and cut short (quoteServer): the admin reads what the server said,
 * never its control characters or a reply of any length.
 */
import { AppError, type ErrorCode } from "../errors.js";
import { quoteServer } from "../net/quote.js";
import { hasCode, type Pop3Reply } from "./reply.js";

/** What was being done, which decides the meaning of a bare "-ERR" (no response code). */
export type ReplyStep = "greeting" | "auth" | "command";

function codeFor(reply: Pop3Reply, step: ReplyStep): ErrorCode {
  // RFC 3206 §4-5 and RFC 2449 §8.1: the maildrop is locked, or logins come too often; retry later.
  if (hasCode(reply, "IN-USE") || hasCode(reply, "LOGIN-DELAY") || hasCode(reply, "SYS/TEMP")) return "SERVER_BUSY";
  // RFC 3206 §4: a problem that will not go away without an administrator.
  if (hasCode(reply, "SYS/PERM")) return "SERVER_ERROR";
  // RFC 3206 §5: the credentials themselves are wrong.
  if (hasCode(reply, "AUTH")) return "AUTH_FAILED";
  switch (step) {
    // A greeting "-ERR" is almost always load shedding ("too many connections").
    case "greeting":
      return "SERVER_BUSY";
    // RFC 3206 §1: without codes a failed login cannot be told apart from a locked maildrop;
    // a wrong password is the common case, and retrying it risks locking the account.
    case "auth":
      return "AUTH_FAILED";
    default:
      return "PROTOCOL_ERROR";
  }
}

const MESSAGES: Record<ReplyStep, string> = {
  greeting: "The POP3 server refused the connection",
  auth: "The POP3 server rejected the login",
  command: "The POP3 server answered a command with an error",
};

/** ` (server said: "...")`, or nothing when the server said nothing printable. */
function said(line: string): string {
  const quoted = quoteServer(line);
  return quoted === "" ? "" : ` (server said: "${quoted}")`;
}

export function replyError(reply: Pop3Reply, command: string, step: ReplyStep): AppError {
  return new AppError(codeFor(reply, step), `${MESSAGES[step]}${said(reply.line)}.`, { command, response: reply.line });
}

/** The server answered something we cannot interpret at this point. */
export function unexpectedReply(command: string | undefined, response: string, why: string): AppError {
  return new AppError("PROTOCOL_ERROR", `Unexpected POP3 reply: ${why}${said(response)}.`, { command, response });
}
