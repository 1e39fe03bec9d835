/**
 * @module Deadlines that a drip-feeding server cannot stretch: the idle timeout restarts on every
 * byte, so a server sending one byte every few tens of milliseconds never trips it. The session's
 * overall deadline ends the greeting, a status line, a listing, a RETR body (paused for
 * backpressure or not); the whole-reply deadline ends a drip-fed status line or listing long
 * before that, but never a RETR body. Small clocks, generous margins: CI machines are shared.
 */
import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import type { Readable } from "node:stream";
import { describe, it } from "node:test";
import { AppError } from "../../shared/errors.js";
import { Pop3Session, type Pop3ConnectOptions } from "../../shared/pop3/index.js";
import { Pop3TestServer, type Pop3TestServerOptions } from "../support/pop3-server.js";
import { startRawServer } from "../support/pop3-raw-server.js";
import { readAll, rejectsWithCode } from "../support/pop3-test-helpers.js";
import type { SplitMode } from "../support/pop3-wire.js";

/** Late enough that a deadline which fired is not mistaken for slowness; CI machines are noisy. */
const MARGIN_MS = 1500;
/** Idle and greeting timeouts far above every deadline here: only a deadline can end these tests. */
const PATIENT: Partial<Pop3ConnectOptions> = {
  connectTimeoutMs: 10_000, greetingTimeoutMs: 10_000, idleTimeoutMs: 10_000, allowCredentialsOverInsecureChannels: true,
};

/** Drip-feeds the reply to `verb` one byte per piece, starting at byte `from` of it. */
function drip(verb: string, from: (reply: Buffer) => number = () => 1): SplitMode {
  return (reply, command) => {
    if (command !== verb) return [];
    const start = Math.max(1, from(reply));
    return Array.from({ length: reply.length - start }, (_, i) => start + i);
  };
}
/** After the status line: only the body of a RETR is drip-fed. */
const afterStatusLine = (reply: Buffer): number => reply.indexOf("\r\n") + 2;

async function withServer(options: Partial<Pop3TestServerOptions>, run: (server: Pop3TestServer) => Promise<void>): Promise<void> {
  const server = await Pop3TestServer.start(options);
  try {
    await run(server);
  } finally {
    await server.close();
  }
}

/** Asserts `err` came from the session deadline, `deadlineMs` after `startedAt`, within the margin. */
function endedByDeadline(err: AppError, startedAt: number, deadlineMs: number, command: string): void {
  const elapsed = performance.now() - startedAt;
  assert.equal(err.transient, true);
  assert.equal(err.command, command);
  assert.match(err.message, new RegExp(`overall deadline of ${deadlineMs} ms`));
  assert.ok(elapsed >= deadlineMs - 20, `ended after ${elapsed.toFixed(0)} ms, before the ${deadlineMs} ms deadline`);
  assert.ok(elapsed < deadlineMs + MARGIN_MS, `ended after ${elapsed.toFixed(0)} ms, long past the ${deadlineMs} ms deadline`);
}

const streamError = (stream: Readable): Promise<unknown> =>
  new Promise((resolve) => {
    if (stream.errored) resolve(stream.errored);
    else stream.once("error", resolve);
  });

const TEN_MESSAGES = Array.from({ length: 10 }, (_, i) => `Subject: ${i}\r\n\r\nbody ${i}\r\n`);

describe("the session deadline against a drip-feeding server", () => {
  it("ends a drip-fed greeting", async () => {
    // ~28 bytes at 60 ms: the greeting would take ~1.7 s; the deadline is 400 ms.
    await withServer({ split: drip("GREETING"), splitDelayMs: 60 }, async (server) => {
      const started = performance.now();
      const err = await rejectsWithCode(Pop3Session.connect(server.clientOptions({ ...PATIENT, deadlineMs: 400 })), "CONNECTION_TIMEOUT");
      endedByDeadline(err, started, 400, "(greeting)");
      assert.match(err.message, /during the greeting/);
    });
  });

  it("ends a drip-fed status line, and every later command fails the same way", async () => {
    await withServer({ messages: TEN_MESSAGES, split: drip("STAT"), splitDelayMs: 150 }, async (server) => {
      const started = performance.now();
      const session = await Pop3Session.connect(server.clientOptions({ ...PATIENT, deadlineMs: 700 }));
      try {
        assert.ok(session.remainingMs > 0 && session.remainingMs <= 700, `remainingMs ${session.remainingMs}`);
        const err = await rejectsWithCode(session.stat(), "CONNECTION_TIMEOUT");
        endedByDeadline(err, started, 700, "STAT");
        assert.equal(session.remainingMs, 0);
        assert.equal(await rejectsWithCode(session.noop(), "CONNECTION_TIMEOUT"), err, "the connection is gone");
      } finally {
        session.close();
      }
    });
  });

  it("ends a drip-fed UIDL listing", async () => {
    // ~100 bytes at 30 ms: ~3 s of listing against a 700 ms deadline.
    await withServer({ messages: TEN_MESSAGES, split: drip("UIDL"), splitDelayMs: 30 }, async (server) => {
      const started = performance.now();
      const session = await Pop3Session.connect(server.clientOptions({ ...PATIENT, deadlineMs: 700 }));
      try {
        endedByDeadline(await rejectsWithCode(session.uidl(), "CONNECTION_TIMEOUT"), started, 700, "UIDL");
      } finally {
        session.close();
      }
    });
  });

  it("ends a drip-fed RETR body: the stream fails", async () => {
    const body = `Subject: slow\r\n\r\n${"x".repeat(200)}\r\n`;
    await withServer({ messages: [body], split: drip("RETR", afterStatusLine), splitDelayMs: 15 }, async (server) => {
      const started = performance.now();
      const session = await Pop3Session.connect(server.clientOptions({ ...PATIENT, deadlineMs: 800 }));
      try {
        const stream = await session.retrieve(1); // the "+OK" comes at once
        endedByDeadline(await rejectsWithCode(readAll(stream), "CONNECTION_TIMEOUT"), started, 800, "RETR 1");
      } finally {
        session.close();
      }
    });
  });

  it("ends a body paused for backpressure (the idle timer is off then, the deadline is not)", async () => {
    const big = Buffer.alloc(8 * 1024 * 1024, "a\r\n"); // far more than the socket buffers hold
    await withServer({ messages: [big] }, async (server) => {
      const started = performance.now();
      // Paused for most of the 1500 ms, three times the idle timeout.
      const session = await Pop3Session.connect(server.clientOptions({ ...PATIENT, idleTimeoutMs: 500, deadlineMs: 1500 }));
      try {
        const stream = await session.retrieve(1);
        // Nobody reads: the connection pauses the socket and waits for the consumer.
        const err = await streamError(stream);
        assert.ok(err instanceof AppError, String(err));
        assert.equal(err.code, "CONNECTION_TIMEOUT");
        endedByDeadline(err, started, 1500, "RETR 1");
        assert.ok(session.stats.bytesReceived < big.length / 2, `received ${session.stats.bytesReceived} bytes: the socket was not paused`);
        await rejectsWithCode(session.noop(), "CONNECTION_TIMEOUT");
      } finally {
        session.close();
      }
    });
  });

  it("ends the wait for a greeting that never comes, long before the greeting timeout", async () => {
    // The server never greets, and the greeting timeout is long: the deadline ends the wait.
    await withServer({ stallOn: "GREETING" }, async (server) => {
      const started = performance.now();
      const err = await rejectsWithCode(Pop3Session.connect(server.clientOptions({ ...PATIENT, deadlineMs: 300 })), "CONNECTION_TIMEOUT");
      endedByDeadline(err, started, 300, "(greeting)");
    });
  });

  it("ends a TLS handshake after STLS that never completes, naming STLS", async () => {
    // Offers STLS, says "+OK" to it, then never answers the ClientHello.
    const server = await startRawServer((socket) => {
      socket.write("+OK ready\r\n");
      socket.on("data", (chunk: Buffer) => {
        const line = chunk.toString("latin1");
        if (line.startsWith("CAPA")) socket.write("+OK\r\nSTLS\r\nUSER\r\n.\r\n");
        else if (line.startsWith("STLS")) socket.write("+OK Begin TLS\r\n");
      });
    });
    try {
      const started = performance.now();
      const options: Pop3ConnectOptions = { host: "127.0.0.1", port: server.port, useSsl: false, userName: "u", password: "p", ...PATIENT, deadlineMs: 500 };
      const err = await rejectsWithCode(Pop3Session.connect(options), "CONNECTION_TIMEOUT");
      endedByDeadline(err, started, 500, "STLS");
    } finally {
      await server.close();
    }
  });
});

describe("the whole-reply deadline", () => {
  const roomy = { ...PATIENT, deadlineMs: 30_000, replyDeadlineMs: 400 };

  it("ends a drip-fed status line long before the session deadline", async () => {
    await withServer({ messages: TEN_MESSAGES, split: drip("STAT"), splitDelayMs: 150 }, async (server) => {
      const session = await Pop3Session.connect(server.clientOptions(roomy));
      try {
        const started = performance.now();
        const err = await rejectsWithCode(session.stat(), "CONNECTION_TIMEOUT");
        const elapsed = performance.now() - started;
        assert.equal(err.command, "STAT");
        assert.match(err.message, /did not complete its reply within 400 ms/);
        assert.ok(elapsed >= 380 && elapsed < 400 + MARGIN_MS, `ended after ${elapsed.toFixed(0)} ms`);
      } finally {
        session.close();
      }
    });
  });

  it("ends a drip-fed UIDL listing whose bytes each come well inside the idle timeout", async () => {
    await withServer({ messages: TEN_MESSAGES, split: drip("UIDL"), splitDelayMs: 30 }, async (server) => {
      const session = await Pop3Session.connect(server.clientOptions({ ...roomy, idleTimeoutMs: 300 }));
      try {
        const err = await rejectsWithCode(session.uidl(), "CONNECTION_TIMEOUT");
        assert.equal(err.command, "UIDL");
        assert.match(err.message, /did not complete its reply within 400 ms/);
      } finally {
        session.close();
      }
    });
  });

  it("ends a drip-fed greeting", async () => {
    await withServer({ split: drip("GREETING"), splitDelayMs: 60 }, async (server) => {
      const err = await rejectsWithCode(Pop3Session.connect(server.clientOptions(roomy)), "CONNECTION_TIMEOUT");
      assert.equal(err.command, "(greeting)");
      assert.match(err.message, /did not complete its reply/);
    });
  });

  it("does not bound a RETR body: a slow one arrives whole, byte for byte", async () => {
    // ~60 body bytes at 15 ms: ~1 s of body, well past the 150 ms whole-reply deadline.
    const body = `Subject: slow\r\n\r\n${"y".repeat(40)}\r\n`;
    await withServer({ messages: [body], split: drip("RETR", afterStatusLine), splitDelayMs: 15 }, async (server) => {
      const session = await Pop3Session.connect(server.clientOptions({ ...roomy, replyDeadlineMs: 150 }));
      try {
        const started = performance.now();
        assert.equal((await readAll(await session.retrieve(1))).toString("latin1"), body);
        assert.ok(performance.now() - started > 150, "the body did take longer than the whole-reply deadline");
        await session.quit();
      } finally {
        session.close();
      }
    });
  });

  it("lets well-behaved replies through, with time to spare", async () => {
    await withServer({ messages: TEN_MESSAGES }, async (server) => {
      const session = await Pop3Session.connect(server.clientOptions({ ...PATIENT, replyDeadlineMs: 2000, deadlineMs: 10_000 }));
      try {
        assert.equal((await session.uidl()).length, 10);
        assert.equal((await readAll(await session.retrieve(3))).toString(), TEN_MESSAGES[2]);
        assert.ok(session.remainingMs > 5000);
        await session.quit();
      } finally {
        session.close();
      }
    });
  });
});
