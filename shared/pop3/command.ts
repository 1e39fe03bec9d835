/**
 * @module What a command module hands the connection, and what it gets back.
 */
import type { Readable } from "node:stream";
import type { Pop3Reply } from "./reply.js";

export interface Pop3Command {
  /** The command line without CRLF. */
  line: string;
  /** What errors show: the verb and harmless arguments, never a password or SASL response. */
  display: string;
  /** Shape of a "+OK" reply: one line, a listing (collected), or a message body (streamed). */
  expect: "line" | "lines" | "stream";
  /** STLS: nothing after the "+OK" may be read as POP3 (RFC 2595 §4). */
  startsTls?: boolean;
  /** AUTH: a "+ " continuation is a valid reply (RFC 5034 §4). */
  allowContinuation?: boolean;
}

export interface CommandResult {
  reply: Pop3Reply;
  /** Listing lines ("lines" commands answered "+OK"), else empty. */
  lines: string[];
  /** The message body ("stream" commands answered "+OK"). */
  body: Readable | undefined;
}
