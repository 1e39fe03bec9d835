/**
 * @module RETR over a real socket returns exactly the stored bytes however TCP cuts the replies:
 * every reply split at every byte, and the end marker split at every position (DESIGN.md §1).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Pop3Session } from "../../shared/pop3/index.js";
import { Pop3TestServer } from "../support/pop3-server.js";
import { readAll, TRICKY_MESSAGES } from "../support/pop3-test-helpers.js";

const names = Object.keys(TRICKY_MESSAGES);
const messages = Object.values(TRICKY_MESSAGES);

describe("RETR byte-exactness", () => {
  let server: Pop3TestServer;
  before(async () => {
    server = await Pop3TestServer.start({ messages, implicitTls: false });
  });
  after(() => server.close());

  it("returns every message intact with every reply written one byte at a time", async () => {
    server.options.split = "every-byte";
    const session = await Pop3Session.connect(server.clientOptions({ allowCredentialsOverInsecureChannels: true }));
    try {
      const start = { ...session.stats };
      for (let i = 0; i < messages.length; i++) {
        const body = await readAll(await session.retrieve(i + 1));
        assert.deepEqual(body, messages[i], names[i]);
      }
      // Proof that the pieces really arrived as separate reads, not coalesced by TCP.
      const bytes = session.stats.bytesReceived - start.bytesReceived;
      const reads = session.stats.reads - start.reads;
      assert.ok(reads > bytes * 0.5, `${reads} reads for ${bytes} bytes`);
      const listed = await session.list();
      assert.deepEqual(listed.map((l) => l.size), messages.map((m) => m.length));
      await session.quit();
    } finally {
      session.close();
      server.options.split = "none";
    }
  });

  it("finds the end marker split across reads at every position", async () => {
    server.options.splitDelayMs = 2; // separate reads, not just separate writes
    const session = await Pop3Session.connect(server.clientOptions({ allowCredentialsOverInsecureChannels: true }));
    try {
      // The last 5 bytes of a reply are the body's final CRLF and the ". CRLF" terminator.
      for (let fromEnd = 1; fromEnd <= 6; fromEnd++) {
        server.options.split = (reply, command) => (command === "RETR" ? [reply.length - fromEnd] : []);
        for (let i = 0; i < messages.length; i++) {
          const body = await readAll(await session.retrieve(i + 1));
          assert.deepEqual(body, messages[i], `${names[i]}, cut ${fromEnd} from the end`);
        }
      }
      // And every byte of the tail in its own read.
      server.options.split = (reply, command) => (command === "RETR" ? [1, 2, 3, 4, 5, 6].map((k) => reply.length - k) : []);
      for (let i = 0; i < messages.length; i++) {
        assert.deepEqual(await readAll(await session.retrieve(i + 1)), messages[i], names[i]);
      }
      await session.noop(); // the reply after the body is still framed right
    } finally {
      session.close();
      server.options.split = "none";
      server.options.splitDelayMs = 0;
    }
  });

  it("keeps 8-bit bytes, NUL and invalid UTF-8 untouched (no decoding)", async () => {
    const session = await Pop3Session.connect(server.clientOptions({ allowCredentialsOverInsecureChannels: true }));
    try {
      const index = names.indexOf("eightBit");
      const body = await readAll(await session.retrieve(index + 1));
      assert.ok(body.includes(Buffer.from([0xe9])));
      assert.ok(body.includes(Buffer.from([0xc3, 0x28])));
      assert.deepEqual(body, TRICKY_MESSAGES.eightBit);
    } finally {
      session.close();
    }
  });
});
