/**
 * @module AUTH PLAIN (RFC 5034 with the PLAIN mechanism of RFC 4616): one base64 message
 * "authzid NUL authcid NUL password". The authzid is empty (act as yourself) unless the profile's
 * account logs in on behalf of a mailbox (delegation saslAuthzid). It goes as an initial response when
 * the command line fits 255 octets (RFC 5034 §4, RFC 2449 §4); otherwise after the server's
 * empty "+ " challenge. The base64 blob holds the password: it never appears in `display`.
 */
import type { Pop3Connection } from "../connection.js";
import { MAX_COMMAND_LINE_BYTES } from "../limits.js";
import { replyError, unexpectedReply } from "../reply-errors.js";
import { checkArgument } from "./run.js";

const DISPLAY = "AUTH PLAIN";

export async function authPlain(conn: Pop3Connection, userName: string, password: string, authorizationId = ""): Promise<void> {
  const authzid = authorizationId === "" ? "" : checkArgument(authorizationId, "authorization identity");
  const blob = Buffer.from(`${authzid}\0${checkArgument(userName, "user name")}\0${checkArgument(password, "password")}`, "utf8").toString("base64");
  const initial = `AUTH PLAIN ${blob}`;
  let result;
  if (initial.length + 2 <= MAX_COMMAND_LINE_BYTES) {
    result = await conn.send({ line: initial, display: DISPLAY, expect: "line" });
  } else {
    const challenge = await conn.send({ line: "AUTH PLAIN", display: DISPLAY, expect: "line", allowContinuation: true });
    if (!challenge.reply.continuation) {
      if (!challenge.reply.ok) throw replyError(challenge.reply, DISPLAY, "auth");
      throw unexpectedReply(DISPLAY, challenge.reply.line, "+OK before the credentials were sent");
    }
    result = await conn.send({ line: blob, display: `${DISPLAY} (response)`, expect: "line" });
  }
  if (!result.reply.ok) throw replyError(result.reply, DISPLAY, "auth");
}
