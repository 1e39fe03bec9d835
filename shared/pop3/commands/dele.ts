/**
 * @module DELE (RFC 1939 §5): marks a message deleted. Nothing is removed until QUIT succeeds
 * (RFC 1939 §6); a dropped connection leaves the maildrop as it was.
 */
import type { Pop3Connection } from "../connection.js";
import { checkMsgNo, expectOk } from "./run.js";

export async function dele(conn: Pop3Connection, msgNo: number): Promise<void> {
  const line = `DELE ${checkMsgNo(msgNo)}`;
  await expectOk(conn, { line, display: line, expect: "line" });
}
