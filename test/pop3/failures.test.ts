/**
 * @module Network and protocol failures, each with its code: unreachable, timeouts (connect,
 * greeting, idle, mid-body) with short clocks, a connection lost mid-RETR (and the retry that
 * gets identical bytes with nothing deleted), and replies no server should send.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Pop3Session, type Pop3ConnectOptions } from "../../shared/pop3/index.js";
import { closedPort, startRawServer } from "../support/pop3-raw-server.js";
import { Pop3TestServer } from "../support/pop3-server.js";
import { readAll, rejectsWithCode } from "../support/pop3-test-helpers.js";

const FAST = { connectTimeoutMs: 300, greetingTimeoutMs: 200, idleTimeoutMs: 200 };
const raw = (port: number, o: Partial<Pop3ConnectOptions> = {}): Pop3ConnectOptions => ({
  host: "127.0.0.1", port, useSsl: false, userName: "alice", password: "pw", allowCredentialsOverInsecureChannels: true, ...FAST, ...o,
});

/** A message long enough that a drop after 1000 bytes lands mid-body. */
const LONG = Buffer.from(Array.from({ length: 200 }, (_, i) => `${i % 5 === 0 ? "." : ""}line ${i}\r\n`).join(""));

describe("network failures", () => {
  it("nothing listening -> NETWORK_UNREACHABLE (transient)", async () => {
    const err = await rejectsWithCode(Pop3Session.connect(raw(await closedPort())), "NETWORK_UNREACHABLE");
    assert.equal(err.transient, true);
  });

  it("unknown host -> NETWORK_UNREACHABLE", async () => {
    await rejectsWithCode(Pop3Session.connect({ ...raw(110), host: "no-such-host.invalid", connectTimeoutMs: 5000 }), "NETWORK_UNREACHABLE");
  });

  it("a TLS handshake that never completes -> CONNECTION_TIMEOUT", async () => {
    const server = await startRawServer(() => {}); // accepts TCP, never speaks
    try {
      await rejectsWithCode(Pop3Session.connect(raw(server.port, { useSsl: true })), "CONNECTION_TIMEOUT");
    } finally {
      await server.close();
    }
  });

  it("no greeting -> CONNECTION_TIMEOUT", async () => {
    const server = await Pop3TestServer.start({ stallOn: "GREETING" });
    try {
      const err = await rejectsWithCode(Pop3Session.connect(server.clientOptions(FAST)), "CONNECTION_TIMEOUT");
      assert.equal(err.command, "(greeting)");
    } finally {
      await server.close();
    }
  });

  it("a stalled command -> CONNECTION_TIMEOUT naming it", async () => {
    const server = await Pop3TestServer.start({ implicitTls: true, stallOn: "STAT" });
    try {
      const session = await Pop3Session.connect(server.clientOptions(FAST));
      const err = await rejectsWithCode(session.stat(), "CONNECTION_TIMEOUT");
      assert.equal(err.command, "STAT");
      assert.equal(err.transient, true);
    } finally {
      await server.close();
    }
  });

  it("a server silent mid-body -> the stream fails with CONNECTION_TIMEOUT", async () => {
    const server = await Pop3TestServer.start({ implicitTls: true, messages: [LONG], stallRetrAfterBytes: 500 });
    try {
      const session = await Pop3Session.connect(server.clientOptions(FAST));
      const err = await rejectsWithCode(readAll(await session.retrieve(1)), "CONNECTION_TIMEOUT");
      assert.equal(err.command, "RETR 1");
    } finally {
      await server.close();
    }
  });

  it("a drop mid-RETR -> CONNECTION_LOST; a retry gets identical bytes and nothing was deleted", async () => {
    const server = await Pop3TestServer.start({ implicitTls: true, messages: ["first\r\n", LONG, "third\r\n"], dropRetrAfterBytes: 1000 });
    try {
      const session = await Pop3Session.connect(server.clientOptions());
      await session.dele(1); // marked, never committed: no QUIT
      const err = await rejectsWithCode(readAll(await session.retrieve(2)), "CONNECTION_LOST");
      assert.equal(err.command, "RETR 2");
      assert.equal(err.transient, true);
      await rejectsWithCode(session.noop(), "CONNECTION_LOST");
      assert.equal(server.maildrop.length, 3, "a dropped session must not delete (RFC 1939 §6)");

      server.options.dropRetrAfterBytes = undefined;
      const retry = await Pop3Session.connect(server.clientOptions());
      assert.deepEqual(await readAll(await retry.retrieve(2)), LONG);
      assert.deepEqual((await retry.uidl()).map((u) => u.uid), ["uid-1", "uid-2", "uid-3"]);
      await retry.quit();
    } finally {
      await server.close();
    }
  });

  it("a drop while a pipelined body waits its turn -> CONNECTION_LOST, not an uncaught error", async () => {
    const server = await startRawServer((socket) => {
      socket.write("+OK hi\r\n");
      socket.on("data", (d: Buffer) => {
        const text = d.toString();
        if (text.includes("CAPA")) socket.write("+OK\r\nUSER\r\nPIPELINING\r\n.\r\n");
        if (/USER|PASS/.test(text)) socket.write("+OK\r\n");
        // Message 1 whole, message 2 cut short, then gone.
        if (text.includes("RETR 2")) socket.write("+OK\r\none\r\n.\r\n+OK\r\npart", () => socket.destroy());
      });
    });
    try {
      const session = await Pop3Session.connect(raw(server.port));
      const got: string[] = [];
      const err = await rejectsWithCode((async () => {
        for await (const { stream } of session.retrieveMany([1, 2])) {
          await new Promise((resolve) => setTimeout(resolve, 50)); // message 2's stream fails meanwhile
          got.push((await readAll(stream)).toString());
        }
      })(), "CONNECTION_LOST");
      assert.deepEqual(got, ["one\r\n"]);
      assert.equal(err.command, "RETR 2");
    } finally {
      await server.close();
    }
  });

  it("the server closing between commands -> CONNECTION_LOST on the next one", async () => {
    const server = await startRawServer((socket) => {
      socket.write("+OK hi\r\n");
      socket.once("data", () => socket.end("-ERR no CAPA\r\n")); // answers CAPA, then hangs up
    });
    try {
      await rejectsWithCode(Pop3Session.connect(raw(server.port)), "CONNECTION_LOST");
    } finally {
      await server.close();
    }
  });
});

describe("protocol failures", () => {
  async function withScript(script: (line: string) => string | undefined, run: (port: number) => Promise<void>): Promise<void> {
    const server = await startRawServer((socket) => {
      socket.write("+OK hi\r\n");
      socket.on("data", (d: Buffer) => {
        for (const line of d.toString().split("\r\n").filter(Boolean)) {
          const reply = script(line);
          if (reply !== undefined) socket.write(reply);
        }
      });
    });
    try {
      await run(server.port);
    } finally {
      await server.close();
    }
  }
  const login = (line: string): string | undefined => (/^(CAPA|USER|PASS)/.test(line) ? (line === "CAPA" ? "-ERR\r\n" : "+OK\r\n") : undefined);

  it("a reply that is neither +OK nor -ERR -> PROTOCOL_ERROR with the response", () =>
    withScript((line) => login(line) ?? "HELLO?\r\n", async (port) => {
      const session = await Pop3Session.connect(raw(port));
      const err = await rejectsWithCode(session.stat(), "PROTOCOL_ERROR");
      assert.equal(err.response, "HELLO?");
      assert.equal(err.command, "STAT");
    }));

  it("a status line past the limit -> PROTOCOL_LIMIT_EXCEEDED", () =>
    withScript((line) => login(line) ?? `+OK ${"x".repeat(10_000)}`, async (port) => {
      const session = await Pop3Session.connect(raw(port));
      await rejectsWithCode(session.stat(), "PROTOCOL_LIMIT_EXCEEDED");
    }));

  it("a malformed STAT or UIDL -> PROTOCOL_ERROR", () =>
    withScript((line) => login(line) ?? (line === "STAT" ? "+OK lots\r\n" : "+OK\r\n1 has space\r\n.\r\n"), async (port) => {
      const session = await Pop3Session.connect(raw(port));
      await rejectsWithCode(session.stat(), "PROTOCOL_ERROR");
      await rejectsWithCode(session.uidl(), "PROTOCOL_ERROR");
    }));

  it("a '-ERR' to RETR is PROTOCOL_ERROR and leaves the session usable", async () => {
    const server = await Pop3TestServer.start({ implicitTls: true, messages: ["a\r\n"] });
    try {
      const session = await Pop3Session.connect(server.clientOptions());
      const err = await rejectsWithCode(session.retrieve(7), "PROTOCOL_ERROR");
      assert.equal(err.response, "-ERR No such message");
      assert.deepEqual(await readAll(await session.retrieve(1)), Buffer.from("a\r\n"));
      await session.quit();
    } finally {
      await server.close();
    }
  });
});
