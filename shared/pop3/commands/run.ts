/**
 * @module Helpers shared by the command modules: send and insist on "+OK", and argument checks
 * that keep caller data from ever becoming a second command on the wire.
 */
import { AppError } from "../../errors.js";
import type { CommandResult, Pop3Command } from "../command.js";
import type { Pop3Connection } from "../connection.js";
import { replyError, type ReplyStep } from "../reply-errors.js";

/** Sends `command` and turns a "-ERR" into the AppError for `step`. */
export async function expectOk(conn: Pop3Connection, command: Pop3Command, step: ReplyStep = "command"): Promise<CommandResult> {
  const result = await conn.send(command);
  if (!result.reply.ok) throw replyError(result.reply, command.display, step);
  return result;
}

/** RFC 1939 §3: message numbers are 1-based decimal integers. */
export function checkMsgNo(msgNo: number): number {
  if (!Number.isSafeInteger(msgNo) || msgNo < 1) {
    throw new AppError("VALIDATION_FAILED", "A POP3 message number must be a positive integer.", {
      details: [{ path: "msgNo", message: `${msgNo} is not a positive integer` }],
    });
  }
  return msgNo;
}

/** A CR or LF inside an argument would end the command early and inject another one. */
export function checkArgument(value: string, what: "user name" | "password" | "authorization identity"): string {
  if (/[\r\n\0]/.test(value)) {
    throw new AppError("AUTH_FAILED", `The POP3 ${what} contains a line break or NUL and cannot be sent.`);
  }
  return value;
}
