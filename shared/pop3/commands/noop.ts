/**
 * @module NOOP (RFC 1939 §5): keeps the session alive, checks the server still answers.
 */
import type { Pop3Connection } from "../connection.js";
import { expectOk } from "./run.js";

export async function noop(conn: Pop3Connection): Promise<void> {
  await expectOk(conn, { line: "NOOP", display: "NOOP", expect: "line" });
}
