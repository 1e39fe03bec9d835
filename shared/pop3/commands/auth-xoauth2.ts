/**
 * @module AUTH XOAUTH2 (RFC 5034 framing, Google/Microsoft XOAUTH2 mechanism): one base64 message
 * "user=NAME ^A auth=Bearer TOKEN ^A ^A". Like AUTH PLAIN it goes as an initial response only
 * when the line fits 255 octets (RFC 5034 §4, RFC 2449 §4); real tokens (1-2 KB JWTs) do not,
 * so they follow the server's empty "+ " challenge. A rejected token is answered with a "+ "
 * challenge holding base64 JSON ({"status":"401",...}); the client must answer it with an empty
 * line to get the final "-ERR". The blob holds the token: it never appears in `display` or errors.
 */
import { AppError } from "../../errors.js";
import type { Pop3Connection } from "../connection.js";
import { MAX_COMMAND_LINE_BYTES } from "../limits.js";
import type { Pop3Reply } from "../reply.js";
import { replyError, unexpectedReply } from "../reply-errors.js";

const DISPLAY = "AUTH XOAUTH2";

/** ^A separates the fields: one inside a value would forge a field, and CR/LF would end the line. */
function field(value: string, what: "user name" | "access token"): string {
  if (/\p{Cc}/u.test(value)) {
    throw new AppError("AUTH_FAILED", `The POP3 ${what} contains a control character and cannot be sent with XOAUTH2.`);
  }
  return value;
}

/** The base64 initial client response. */
export function xoauth2Response(userName: string, accessToken: string): string {
  const message = `user=${field(userName, "user name")}\x01auth=Bearer ${field(accessToken, "access token")}\x01\x01`;
  return Buffer.from(message, "utf8").toString("base64");
}

/** The "status" of the server's JSON error challenge, when it is a short harmless word. */
export function xoauth2ErrorStatus(challenge: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(challenge, "base64").toString("utf8"));
    const status = typeof parsed === "object" && parsed !== null ? (parsed as { status?: unknown }).status : undefined;
    const text = typeof status === "number" ? String(status) : status;
    // Server text ends up in logs: keep only what looks like a status ("401", "invalid_token").
    return typeof text === "string" && /^[\w.-]{1,32}$/.test(text) ? text : undefined;
  } catch {
    return undefined;
  }
}

export async function authXoauth2(conn: Pop3Connection, userName: string, accessToken: string): Promise<void> {
  const blob = xoauth2Response(userName, accessToken);
  const initial = `${DISPLAY} ${blob}`;
  const step = { display: DISPLAY, expect: "line", allowContinuation: true } as const;
  let reply: Pop3Reply;
  if (initial.length + 2 <= MAX_COMMAND_LINE_BYTES) {
    reply = (await conn.send({ ...step, line: initial })).reply;
  } else {
    const challenge = (await conn.send({ ...step, line: DISPLAY })).reply;
    if (!challenge.continuation) {
      if (!challenge.ok) throw replyError(challenge, DISPLAY, "auth");
      throw unexpectedReply(DISPLAY, challenge.line, "+OK before the credentials were sent");
    }
    reply = (await conn.send({ ...step, line: blob, display: `${DISPLAY} (response)` })).reply;
  }
  if (reply.continuation) await rejected(conn, reply);
  if (!reply.ok) throw replyError(reply, DISPLAY, "auth");
}

/** The token was refused: acknowledge the error challenge, then fail with the final "-ERR". */
async function rejected(conn: Pop3Connection, challenge: Pop3Reply): Promise<never> {
  const status = xoauth2ErrorStatus(challenge.text);
  const { reply } = await conn.send({ line: "", display: `${DISPLAY} (error acknowledged)`, expect: "line" });
  if (reply.ok) throw unexpectedReply(DISPLAY, reply.line, "+OK after the server refused the token");
  const err = replyError(reply, DISPLAY, "auth");
  if (status === undefined) throw err;
  throw new AppError(err.code, `${err.message} XOAUTH2 status: ${status}.`, {
    command: err.command, response: err.response, transient: err.transient,
  });
}
