/**
 * @module QUIT (RFC 1939 §6): enters the UPDATE state, in which the server removes the messages
 * marked by DELE. Only a "+OK" means they are gone; "-ERR" (e.g. [SYS/TEMP]) means some may not be.
 */
import type { Pop3Connection } from "../connection.js";
import { expectOk } from "./run.js";

export async function quit(conn: Pop3Connection): Promise<void> {
  await expectOk(conn, { line: "QUIT", display: "QUIT", expect: "line" });
}
