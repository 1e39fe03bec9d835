/**
 * @module Byte-level framing without sockets: every message, cut at every position (and every
 * pair of positions), must decode to the stored bytes, with the rest handed back untouched.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AppError } from "../../shared/errors.js";
import { DotDecoder } from "../../shared/pop3/dot-decoder.js";
import { ReplyFramer, type BodySink } from "../../shared/pop3/framer.js";
import { MAX_REPLY_LINE_BYTES } from "../../shared/pop3/limits.js";
import { TRICKY_MESSAGES } from "../support/pop3-test-helpers.js";
import { retrReply } from "../support/pop3-wire.js";

const NEXT = Buffer.from("+OK next reply\r\n");

/** Body wire bytes (stuffed, with terminator) followed by the next reply. */
function wire(message: Buffer): Buffer {
  const reply = retrReply("+OK", message);
  return Buffer.concat([reply.subarray(reply.indexOf("\r\n") + 2), NEXT]);
}

function decodeInPieces(bytes: Buffer, cuts: number[]): { body: Buffer; rest: Buffer | undefined } {
  const decoder = new DotDecoder();
  const out: Buffer[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    const { data, rest } = decoder.decode(bytes.subarray(from, cut));
    out.push(...data);
    if (rest !== undefined) return { body: Buffer.concat(out), rest: Buffer.concat([rest, bytes.subarray(cut)]) };
    from = cut;
  }
  return { body: Buffer.concat(out), rest: undefined };
}

describe("wire format, pinned by hand (so encoder and decoder cannot be wrong together)", () => {
  const cases: [stored: string, wire: string][] = [
    [".a\r\nb\r\n.\r\n", "..a\r\nb\r\n..\r\n.\r\n"],
    ["x\r\n..y\r\n", "x\r\n...y\r\n.\r\n"],
    ["", ".\r\n"],
    ["a\n.b\r\n", "a\n.b\r\n.\r\n"], // a dot after a bare LF does not start a line
  ];
  for (const [stored, onWire] of cases) {
    it(`${JSON.stringify(stored)} <-> ${JSON.stringify(onWire)}`, () => {
      assert.equal(retrReply("+OK", Buffer.from(stored)).toString(), `+OK\r\n${onWire}`);
      const { data, rest } = new DotDecoder().decode(Buffer.from(onWire));
      assert.equal(Buffer.concat(data).toString(), stored);
      assert.equal(rest?.length, 0);
    });
  }

  it("the test server adds the CRLF a message lacks, as real servers do", () => {
    assert.equal(retrReply("+OK", Buffer.from("no newline")).toString(), "+OK\r\nno newline\r\n.\r\n");
  });
});

describe("DotDecoder", () => {
  for (const [name, message] of Object.entries(TRICKY_MESSAGES)) {
    it(`${name}: exact bytes at every single and double cut`, () => {
      const bytes = wire(message);
      for (let a = 0; a <= bytes.length; a++) {
        for (let b = a; b <= bytes.length; b++) {
          const { body, rest } = decodeInPieces(bytes, [a, b]);
          assert.deepEqual(body, message, `cuts ${a},${b}`);
          assert.deepEqual(rest, NEXT, `rest after cuts ${a},${b}`);
        }
      }
    });

    it(`${name}: exact bytes one byte at a time`, () => {
      const bytes = wire(message);
      const { body, rest } = decodeInPieces(bytes, Array.from({ length: bytes.length }, (_, i) => i));
      assert.deepEqual(body, message);
      assert.deepEqual(rest, NEXT);
    });
  }

  it("keeps the CR of a non-stuffed '.' CR x line (RFC 1939 §3: strip only the first octet)", () => {
    for (let cut = 0; cut <= 6; cut++) {
      const { body, rest } = decodeInPieces(Buffer.from("a\r\n.\rX\r\n.\r\n"), [cut]);
      assert.equal(body.toString("latin1"), "a\r\n\rX\r\n", `cut ${cut}`);
      assert.equal(rest?.length, 0);
    }
  });

  it("returns slices, not copies, for an unstuffed run", () => {
    const chunk = Buffer.from("hello\r\nworld\r\n");
    const { data } = new DotDecoder().decode(chunk);
    assert.equal(data.length, 1);
    assert.equal(data[0]?.buffer, chunk.buffer);
  });
});

describe("ReplyFramer", () => {
  class Collect implements BodySink {
    chunks: Buffer[] = [];
    ended = false;
    write(c: Buffer): void {
      this.chunks.push(c);
    }
    end(): void {
      this.ended = true;
    }
  }

  it("frames pipelined status lines and bodies sharing reads, at every cut", () => {
    const body = TRICKY_MESSAGES.dotLines ?? Buffer.alloc(0);
    const bytes = Buffer.concat([Buffer.from("+OK 1\r\n"), retrReply("+OK body", body), Buffer.from("-ERR [SYS/TEMP] x\r\n")]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const events: string[] = [];
      const sink = new Collect();
      const framer: ReplyFramer = new ReplyFramer({
        onLine: (line) => {
          events.push(line.toString());
          if (line.toString() === "+OK body") framer.startBody(sink);
        },
        onBodyEnd: () => events.push("(end)"),
      });
      framer.push(bytes.subarray(0, cut));
      framer.push(bytes.subarray(cut));
      assert.deepEqual(events, ["+OK 1", "+OK body", "(end)", "-ERR [SYS/TEMP] x"], `cut ${cut}`);
      assert.deepEqual(Buffer.concat(sink.chunks), body);
      assert.ok(sink.ended);
    }
  });

  it("ends with PROTOCOL_LIMIT_EXCEEDED on a status line longer than the limit", () => {
    const framer = new ReplyFramer({ onLine: () => {}, onBodyEnd: () => {} });
    assert.throws(
      () => {
        for (let i = 0; i < MAX_REPLY_LINE_BYTES; i += 100) framer.push(Buffer.alloc(100, 0x41));
      },
      (err: unknown) => err instanceof AppError && err.code === "PROTOCOL_LIMIT_EXCEEDED",
    );
  });

  it("drops everything after stop() (STLS), including the rest of the same read", () => {
    const lines: string[] = [];
    const framer: ReplyFramer = new ReplyFramer({
      onLine: (line) => {
        lines.push(line.toString());
        framer.stop();
      },
      onBodyEnd: () => {},
    });
    framer.push(Buffer.from("+OK Begin TLS\r\n+OK fake\r\n"));
    framer.push(Buffer.from("+OK more\r\n"));
    assert.deepEqual(lines, ["+OK Begin TLS"]);
  });
});
