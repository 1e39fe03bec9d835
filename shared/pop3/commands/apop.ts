/**
 * @module APOP (RFC 1939 §7): log in with MD5(timestamp + password), the timestamp being the
 * "<...@...>" token of the greeting. The password itself never crosses the wire.
 */
import { createHash } from "node:crypto";
import type { Pop3Connection } from "../connection.js";
import { checkArgument, expectOk } from "./run.js";

/** RFC 1939 §7: the timestamp has the syntax of an RFC 822 msg-id. */
export function apopTimestamp(greeting: string): string | undefined {
  return /<[^<>\s@]+@[^<>\s]+>/.exec(greeting)?.[0];
}

export function apopDigest(timestamp: string, password: string): string {
  return createHash("md5").update(Buffer.from(timestamp + password, "utf8")).digest("hex");
}

export async function apop(conn: Pop3Connection, timestamp: string, userName: string, password: string): Promise<void> {
  const user = checkArgument(userName, "user name");
  const digest = apopDigest(timestamp, checkArgument(password, "password"));
  await expectOk(conn, { line: `APOP ${user} ${digest}`, display: `APOP ${user}`, expect: "line" }, "auth");
}
