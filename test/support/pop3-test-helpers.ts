/**
 * @module Shared bits of the POP3 tests: reading a body, asserting an AppError code, and a set of
 * messages chosen to break naive framing (dot lines, "CRLF . CRLF" inside, 8-bit, bare CR/LF).
 */
import assert from "node:assert/strict";
import type { Readable } from "node:stream";
import { AppError, type ErrorCode } from "../../shared/errors.js";
import { Pop3Session } from "../../shared/pop3/index.js";
import { Pop3TestServer, type Pop3TestServerOptions } from "./pop3-server.js";

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Awaits `promise`, asserts it fails with an AppError of `code`, and returns that error. */
export async function rejectsWithCode(promise: Promise<unknown>, code: ErrorCode): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof AppError, `expected an AppError, got ${String(err)}`);
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    return err;
  }
  assert.fail(`expected ${code}, but it succeeded`);
}

const latin1 = (s: string): Buffer => Buffer.from(s, "latin1");

/** Each names what it is there to catch. */
export const TRICKY_MESSAGES: Record<string, Buffer> = {
  dotLines: latin1("From: a@example.com\r\nSubject: dots\r\n\r\n.leading dot line\r\n..two dots\r\n.\r\n. \r\nx\r\n"),
  endMarkerInside: latin1("Subject: marker\r\n\r\nbefore\r\n.\r\nafter\r\n"),
  endsWithDotLine: latin1("Subject: last line is a dot\r\n\r\nbody\r\n.\r\n"),
  onlyADot: latin1(".\r\n"),
  startsWithDot: latin1(".first line starts with a dot\r\n"),
  eightBit: Buffer.concat([latin1("Subject: =?iso-8859-1?q?caf=E9?=\r\n\r\ncaf\xe9 na\xefve \xff\x80\x00\x01 \xa0\r\n"), Buffer.from([0xc3, 0x28, 0x0d, 0x0a])]),
  bareCrLf: latin1("bare CR\r inside\r\nbare LF\n inside\r\n\n.not stuffed after bare LF\r\n\r.x\r\n.\rX dot CR not LF\r\nend\r\r\n"),
  empty: Buffer.alloc(0),
  blankLines: latin1("\r\n\r\n\r\n"),
};

/** A test server with `options` and a logged-in session on it, both closed after `run`. */
export async function withPop3Session(
  options: Partial<Pop3TestServerOptions>,
  run: (server: Pop3TestServer, session: Pop3Session) => Promise<void>,
): Promise<void> {
  const server = await Pop3TestServer.start(options);
  const session = await Pop3Session.connect(server.clientOptions());
  try {
    await run(server, session);
  } finally {
    session.close();
    await server.close();
  }
}
