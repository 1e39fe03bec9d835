/**
 * @module CAPA (RFC 2449 §5): what the server supports. A server without CAPA answers "-ERR";
 * then nothing is known and the client falls back to RFC 1939 behaviour.
 */
import type { Pop3Connection } from "../connection.js";

export interface Pop3Capabilities {
  /** false when the server does not implement CAPA. */
  readonly known: boolean;
  readonly pipelining: boolean;
  readonly stls: boolean;
  /** USER/PASS is offered (RFC 2449 §6.2). */
  readonly user: boolean;
  readonly uidl: boolean;
  readonly top: boolean;
  /** SASL mechanisms, upper-cased (RFC 2449 §6.3). */
  readonly sasl: readonly string[];
  /** The listing as sent, one capability per line. */
  readonly lines: readonly string[];
}

export const UNKNOWN_CAPABILITIES: Pop3Capabilities = {
  known: false, pipelining: false, stls: false, user: false, uidl: false, top: false, sasl: [], lines: [],
};

export function parseCapabilities(lines: readonly string[]): Pop3Capabilities {
  const tags = new Map<string, string[]>();
  for (const line of lines) {
    const [tag = "", ...args] = line.trim().split(/\s+/);
    tags.set(tag.toUpperCase(), args);
  }
  return {
    known: true,
    pipelining: tags.has("PIPELINING"),
    stls: tags.has("STLS"),
    user: tags.has("USER"),
    uidl: tags.has("UIDL"),
    top: tags.has("TOP"),
    sasl: (tags.get("SASL") ?? []).map((m) => m.toUpperCase()),
    lines,
  };
}

export async function capa(conn: Pop3Connection): Promise<Pop3Capabilities> {
  const { reply, lines } = await conn.send({ line: "CAPA", display: "CAPA", expect: "lines" });
  return reply.ok ? parseCapabilities(lines) : UNKNOWN_CAPABILITIES;
}
