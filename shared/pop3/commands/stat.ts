/**
 * @module STAT (RFC 1939 §5): "+OK count octets" for the maildrop, excluding deleted messages.
 */
import type { Pop3Connection } from "../connection.js";
import { unexpectedReply } from "../reply-errors.js";
import { expectOk } from "./run.js";

export interface MaildropStat {
  count: number;
  size: number;
}

export async function stat(conn: Pop3Connection): Promise<MaildropStat> {
  const { reply } = await expectOk(conn, { line: "STAT", display: "STAT", expect: "line" });
  const m = /^(\d+) (\d+)(?:\s|$)/.exec(reply.text);
  if (!m) throw unexpectedReply("STAT", reply.line, "STAT needs a count and a size");
  return { count: Number(m[1]), size: Number(m[2]) };
}
