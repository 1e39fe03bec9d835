/**
 * @module A 25 MiB message streams with bounded memory: the client takes bytes off the socket only
 * as fast as the consumer reads them (TCP flow control pushes back on the server), a slow
 * consumer never trips the idle timeout, and an abandoned body is drained so the session goes on.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { setImmediate as nextTurn, setTimeout as sleep } from "node:timers/promises";
import { Pop3Session } from "../../shared/pop3/index.js";
import { Pop3TestServer } from "../support/pop3-server.js";
import { rejectsWithCode } from "../support/pop3-test-helpers.js";

const MiB = 1024 * 1024;

/** 25 MiB of ~80-byte lines; every 7th starts with a dot (stuffed on the wire), with 8-bit bytes. */
function bigMessage(): Buffer {
  const lines: string[] = ["Subject: big\r\n\r\n"];
  let size = lines[0]?.length ?? 0;
  for (let i = 0; size < MiB; i++) {
    const line = `${i % 7 === 0 ? "." : ""}line ${i} caf\xe9 \xff ${"x".repeat(i % 50)}\r\n`;
    lines.push(line);
    size += line.length;
  }
  const block = Buffer.from(lines.join(""), "latin1").subarray(0, MiB - 2);
  return Buffer.concat([...Array<Buffer>(25).fill(block), Buffer.from("\r\n")]).subarray(0, 25 * MiB);
}

const sha256 = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

describe("streaming a 25 MiB message", () => {
  let server: Pop3TestServer;
  let message: Buffer;
  before(async () => {
    message = bigMessage();
    server = await Pop3TestServer.start({ messages: [message, "Subject: small\r\n\r\nsmall\r\n"], implicitTls: true });
  });
  after(() => server.close());

  it("delivers the exact bytes to a slow consumer with bounded memory and no idle timeout", async () => {
    const session = await Pop3Session.connect(server.clientOptions({ idleTimeoutMs: 1000 }));
    try {
      const before = session.stats.bytesReceived;
      const stream = await session.retrieve(1);
      await sleep(2000); // a consumer busy elsewhere, twice the idle timeout (generous: CI machines are shared)
      const takenWhileIdle = session.stats.bytesReceived - before;
      assert.ok(takenWhileIdle < MiB, `took ${takenWhileIdle} bytes off the socket while nobody read`);

      const hash = createHash("sha256");
      let total = 0;
      let n = 0;
      for await (const chunk of stream) {
        hash.update(chunk as Buffer);
        total += (chunk as Buffer).length;
        if (++n % 8 === 0) await nextTurn(); // slow consumer (an upload)
      }
      assert.equal(total, message.length);
      assert.equal(hash.digest("hex"), sha256(message));
      assert.ok(session.stats.peakBufferedBytes < 512 * 1024, `peak buffered ${session.stats.peakBufferedBytes} bytes`);
      assert.ok(server.stats.drainWaits > 0, "the server was never held back by TCP flow control");
      await session.quit();
    } finally {
      session.close();
    }
  });

  it("drains an abandoned body so the next command is answered", async () => {
    const session = await Pop3Session.connect(server.clientOptions());
    try {
      const stream = await session.retrieve(1);
      for await (const _chunk of stream) break; // read one chunk, then give up (destroys it)
      assert.ok(stream.destroyed);
      const small = await session.retrieve(2);
      const chunks: Buffer[] = [];
      for await (const c of small) chunks.push(c as Buffer);
      assert.equal(Buffer.concat(chunks).toString(), "Subject: small\r\n\r\nsmall\r\n");
      assert.ok(session.stats.bytesReceived > message.length);
    } finally {
      session.close();
    }
  });

  it("ends the connection with PROTOCOL_LIMIT_EXCEEDED past maxMessageBytes", async () => {
    const session = await Pop3Session.connect(server.clientOptions({ maxMessageBytes: MiB }));
    const stream = await session.retrieve(1);
    const err = await rejectsWithCode((async () => {
      for await (const _ of stream) {
        /* consume */
      }
    })(), "PROTOCOL_LIMIT_EXCEEDED");
    assert.equal(err.command, "RETR 1");
    await rejectsWithCode(session.noop(), "PROTOCOL_LIMIT_EXCEEDED");
  });
});
