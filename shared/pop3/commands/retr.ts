/**
 * @module RETR (RFC 1939 §5): the message as a stream of the exact bytes the server stored.
 *
 * The stream must be consumed or destroyed: replies come in order, so the next reply cannot be
 * read until this body has been read to its end (destroying it makes the connection drop the
 * rest). Size policy is the caller's: compare LIST sizes with its limit and skip a message
 * before RETR; the connection's maxMessageBytes only stops a server that sends far more than
 * announced, and that ends the connection with PROTOCOL_LIMIT_EXCEEDED (the stream errors).
 */
import type { Readable } from "node:stream";
import type { Pop3Command } from "../command.js";
import type { Pop3Connection } from "../connection.js";
import { unexpectedReply } from "../reply-errors.js";
import { checkMsgNo, expectOk } from "./run.js";

export function retrCommand(msgNo: number): Pop3Command {
  const line = `RETR ${checkMsgNo(msgNo)}`;
  return { line, display: line, expect: "stream" };
}

/** Resolves at the "+OK", before the body arrives. */
export async function retr(conn: Pop3Connection, msgNo: number): Promise<Readable> {
  const { body } = await expectOk(conn, retrCommand(msgNo));
  if (body === undefined) throw unexpectedReply("RETR", "", "no message body"); // unreachable after "+OK"
  return body;
}
