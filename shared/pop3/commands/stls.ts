/**
 * @module STLS (RFC 2595 §4): upgrade a clear connection to TLS. The connection stops parsing at
 * the "+OK" and drops whatever else the server sent in clear; the caller must issue CAPA again,
 * since capabilities learnt before TLS may have been forged.
 */
import type net from "node:net";
import { AppError } from "../../errors.js";
import type { Pop3Connection } from "../connection.js";

export async function stls(conn: Pop3Connection, upgrade: (plain: net.Socket) => Promise<net.Socket>): Promise<void> {
  const { reply } = await conn.send({ line: "STLS", display: "STLS", expect: "line", startsTls: true });
  if (!reply.ok) {
    throw new AppError("TLS_HANDSHAKE_FAILED", "The POP3 server advertised STLS but refused to start TLS.", {
      command: "STLS",
      response: reply.line,
    });
  }
  await conn.startTls(upgrade);
}
