/**
 * @module Byte-level decoder of a POP3 multi-line body (RFC 1939 §3), like smtp-server's
 * smtp-stream.js. Removes the stuffing dot from lines that begin with ".", stops at the
 * terminating "CRLF . CRLF", and keeps every other byte as is: CRLFs (including the last line's),
 * bare CR or LF, 8-bit bytes. The marker may be split across reads at any byte: the decoder keeps
 * its position in a small state machine, and holds back at most the "." and "CR" that might
 * start the terminator. Output buffers are slices of the input, never copies.
 */

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const CRLF = Buffer.from("\r\n");
const HELD_CR = Buffer.from("\r");

/** Right after CRLF, or at the very start of the body. */
const LINE_START = 0;
/** A "." at line start: either stuffing or the first byte of the terminator. */
const DOT_SEEN = 1;
/** "." CR at line start: the terminator if LF follows. */
const DOT_CR = 2;
/** Inside a line. */
const MID_LINE = 3;
/** Inside a line, and the previous chunk ended with CR. */
const AFTER_CR = 4;

export interface DecodeResult {
  /** Unstuffed body bytes, in order. */
  data: Buffer[];
  /** Bytes after the terminating ".CRLF" (the next reply), or undefined while the body goes on. */
  rest: Buffer | undefined;
}

export class DotDecoder {
  private state = LINE_START;

  decode(chunk: Buffer): DecodeResult {
    const data: Buffer[] = [];
    const n = chunk.length;
    let run = 0; // start of the bytes not yet emitted
    let i = 0;
    while (i < n) {
      switch (this.state) {
        case LINE_START:
          if (chunk[i] === DOT) {
            if (i > run) data.push(chunk.subarray(run, i));
            run = ++i; // drop the dot: stuffing, or part of the terminator
            this.state = DOT_SEEN;
          } else {
            this.state = MID_LINE;
          }
          break;
        case DOT_SEEN:
          if (chunk[i] === CR) {
            run = ++i; // hold the CR until we know whether LF follows
            this.state = DOT_CR;
          } else {
            this.state = MID_LINE; // the dot was stuffing; this byte is data
          }
          break;
        case DOT_CR:
          if (chunk[i] === LF) return { data, rest: chunk.subarray(i + 1) };
          // "." CR x: not the terminator; RFC 1939 §3 says strip the first octet, so the CR is data.
          data.push(HELD_CR);
          this.state = MID_LINE;
          break;
        case MID_LINE: {
          const at = chunk.indexOf(CRLF, i);
          if (at === -1) {
            this.state = chunk[n - 1] === CR ? AFTER_CR : MID_LINE;
            i = n;
          } else {
            i = at + 2;
            this.state = LINE_START;
          }
          break;
        }
        default: // AFTER_CR
          if (chunk[i] === LF) {
            i++;
            this.state = LINE_START;
          } else {
            this.state = MID_LINE;
          }
          break;
      }
    }
    if (n > run) data.push(chunk.subarray(run, n));
    return { data, rest: undefined };
  }
}
