/**
 * @module Frames the bytes of a POP3 connection into status lines and multi-line bodies.
 * Status lines end at CRLF and are capped at MAX_REPLY_LINE_BYTES; after a "+OK" to a
 * multi-line command the connection calls startBody() and the bytes go through a DotDecoder
 * to a sink until the terminator. Whatever follows the terminator in the same read is the next
 * reply and is framed again, so pipelined replies can share one TCP segment.
 */
import { AppError } from "../errors.js";
import { DotDecoder } from "./dot-decoder.js";
import { MAX_REPLY_LINE_BYTES } from "./limits.js";

const CRLF = Buffer.from("\r\n");
const EMPTY = Buffer.alloc(0);

export interface BodySink {
  /** May throw an AppError (a limit); the connection then fails. */
  write(chunk: Buffer): void;
  end(): void;
}

export interface FramerHandler {
  /** One status line without its CRLF. May call startBody() or stop(); may throw an AppError. */
  onLine(line: Buffer): void;
  /** The body started by startBody() reached its terminator (the sink has been ended). */
  onBodyEnd(): void;
}

export class ReplyFramer {
  private partial: Buffer = EMPTY;
  private body: { decoder: DotDecoder; sink: BodySink } | undefined;
  private stopped = false;

  constructor(private readonly handler: FramerHandler) {}

  /** Bytes held while waiting for the end of a status line. */
  get bufferedBytes(): number {
    return this.partial.length;
  }

  /** The bytes after the current status line are a dot-stuffed body (RFC 1939 §3). */
  startBody(sink: BodySink): void {
    this.body = { decoder: new DotDecoder(), sink };
  }

  /**
   * Ignore every byte from now on, including the rest of the current read. Used after the
   * "+OK" to STLS: bytes the server sent before the TLS handshake must not be parsed as POP3
   * (RFC 2595 §4, the STARTTLS command-injection attack).
   */
  stop(): void {
    this.stopped = true;
    this.partial = EMPTY;
    this.body = undefined;
  }

  push(chunk: Buffer): void {
    let data = chunk;
    while (data.length > 0 && !this.stopped) {
      const body = this.body;
      if (body === undefined) {
        data = this.takeLine(data);
        continue;
      }
      const { data: out, rest } = body.decoder.decode(data);
      for (const piece of out) body.sink.write(piece);
      if (rest === undefined) return;
      this.body = undefined;
      body.sink.end();
      this.handler.onBodyEnd();
      data = rest;
    }
  }

  private takeLine(data: Buffer): Buffer {
    // A CRLF may straddle the old and new bytes, so search from the last held byte.
    const from = Math.max(0, this.partial.length - 1);
    const buf = this.partial.length > 0 ? Buffer.concat([this.partial, data]) : data;
    const at = buf.indexOf(CRLF, from);
    if (at === -1 ? buf.length >= MAX_REPLY_LINE_BYTES : at + CRLF.length > MAX_REPLY_LINE_BYTES) {
      throw new AppError("PROTOCOL_LIMIT_EXCEEDED", `A POP3 reply line is longer than ${MAX_REPLY_LINE_BYTES} bytes.`);
    }
    if (at === -1) {
      this.partial = buf;
      return EMPTY;
    }
    this.partial = EMPTY;
    this.handler.onLine(buf.subarray(0, at));
    return buf.subarray(at + CRLF.length);
  }
}
