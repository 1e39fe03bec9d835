/**
 * @module LIST without argument (RFC 1939 §5): "msgNo octets" per message not marked deleted.
 * Sizes let the caller skip an oversized message before RETR rather than abort mid-body.
 */
import type { Pop3Connection } from "../connection.js";
import { unexpectedReply } from "../reply-errors.js";
import { expectOk } from "./run.js";

export interface ScanListing {
  msgNo: number;
  /** Octets as the server counts them (RFC 1939 says exact; some servers approximate). */
  size: number;
}

export function parseScanListing(lines: readonly string[]): ScanListing[] {
  return lines.map((line) => {
    const m = /^(\d+) (\d+)(?: .*)?$/.exec(line);
    if (!m) throw unexpectedReply("LIST", line, "a LIST line is not \"msgNo size\"");
    return { msgNo: Number(m[1]), size: Number(m[2]) };
  });
}

export async function list(conn: Pop3Connection): Promise<ScanListing[]> {
  const { lines } = await expectOk(conn, { line: "LIST", display: "LIST", expect: "lines" });
  return parseScanListing(lines);
}
