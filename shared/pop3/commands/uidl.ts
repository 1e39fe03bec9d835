/**
 * @module UIDL without argument (RFC 1939 §7): "msgNo uid" per message not marked deleted.
 * A uid is 1-70 characters in 0x21-0x7E and stays the same for a message across sessions; we
 * accept longer ones rather than refuse a whole mailbox over a server quirk.
 */
import type { Pop3Connection } from "../connection.js";
import { unexpectedReply } from "../reply-errors.js";
import { expectOk } from "./run.js";

export interface UniqueIdListing {
  msgNo: number;
  uid: string;
}

export function parseUniqueIdListing(lines: readonly string[]): UniqueIdListing[] {
  return lines.map((line) => {
    const m = /^(\d+) ([\x21-\x7e]+)$/.exec(line);
    if (!m) throw unexpectedReply("UIDL", line, "a UIDL line is not \"msgNo uid\"");
    return { msgNo: Number(m[1]), uid: m[2] ?? "" };
  });
}

export async function uidl(conn: Pop3Connection): Promise<UniqueIdListing[]> {
  const { lines } = await expectOk(conn, { line: "UIDL", display: "UIDL", expect: "lines" });
  return parseUniqueIdListing(lines);
}
