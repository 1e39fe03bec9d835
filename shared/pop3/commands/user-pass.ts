/**
 * @module USER and PASS (RFC 1939 §7). The password is the PASS argument, so the command's
 * display is just "PASS".
 */
import type { Pop3Connection } from "../connection.js";
import { checkArgument, expectOk } from "./run.js";

export async function userPass(conn: Pop3Connection, userName: string, password: string): Promise<void> {
  const user = checkArgument(userName, "user name");
  const secret = checkArgument(password, "password");
  await expectOk(conn, { line: `USER ${user}`, display: `USER ${user}`, expect: "line" }, "auth");
  await expectOk(conn, { line: `PASS ${secret}`, display: "PASS", expect: "line" }, "auth");
}
