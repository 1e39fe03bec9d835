/**
 * @module Listings and replies (UIDL, LIST, STAT, CAPA, response codes) and the deletion rules of
 * RFC 1939 §6: DELE only marks, QUIT commits, a session closed without QUIT deletes nothing.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Pop3Session } from "../../shared/pop3/index.js";
import { parseCapabilities } from "../../shared/pop3/commands/capa.js";
import { parseScanListing } from "../../shared/pop3/commands/list.js";
import { parseUniqueIdListing } from "../../shared/pop3/commands/uidl.js";
import { hasCode, parseReply } from "../../shared/pop3/reply.js";
import { Pop3TestServer } from "../support/pop3-server.js";
import { rejectsWithCode, withPop3Session } from "../support/pop3-test-helpers.js";

const MESSAGES = [
  { body: "Subject: 1\r\n\r\none\r\n", uid: "AAA-001" },
  { body: "Subject: 2\r\n\r\ntwo!\r\n", uid: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef012345" },
  { body: "Subject: 3\r\n\r\nthree\r\n", uid: "~!#$%&'()*+,-./:;<=>?@[]^_`{|}" },
];

describe("parsers", () => {
  it("parses +OK / -ERR / continuation lines and RFC 2449 response codes", () => {
    assert.deepEqual(parseReply(Buffer.from("+OK 2 320")), { ok: true, continuation: false, code: undefined, text: "2 320", line: "+OK 2 320" });
    const busy = parseReply(Buffer.from("-ERR [SYS/TEMP/disk] later"));
    assert.equal(busy?.ok, false);
    assert.equal(busy?.code, "SYS/TEMP/DISK");
    assert.equal(busy && hasCode(busy, "SYS/TEMP"), true);
    assert.equal(busy && hasCode(busy, "SYS"), true);
    assert.equal(busy && hasCode(busy, "SYS/PERM"), false);
    assert.equal(parseReply(Buffer.from("-ERR"))?.text, "");
    assert.equal(parseReply(Buffer.from("+ "))?.continuation, true);
    assert.equal(parseReply(Buffer.from("+OKAY")), undefined);
    assert.equal(parseReply(Buffer.from("* OK imap")), undefined);
  });

  it("parses UIDL and LIST listings and rejects malformed lines", () => {
    assert.deepEqual(parseUniqueIdListing(["1 whqtswO00WBw418f9t5JxYwZ", "2 QhdPYR:00WBw1Ph7x7"]), [
      { msgNo: 1, uid: "whqtswO00WBw418f9t5JxYwZ" },
      { msgNo: 2, uid: "QhdPYR:00WBw1Ph7x7" },
    ]);
    assert.deepEqual(parseScanListing(["1 120", "2 200 extra info"]), [{ msgNo: 1, size: 120 }, { msgNo: 2, size: 200 }]);
    assert.throws(() => parseUniqueIdListing(["1 uid with space"]), { code: "PROTOCOL_ERROR" });
    assert.throws(() => parseUniqueIdListing(["x abc"]), { code: "PROTOCOL_ERROR" });
    assert.throws(() => parseScanListing(["1"]), { code: "PROTOCOL_ERROR" });
  });

  it("parses CAPA", () => {
    const caps = parseCapabilities(["TOP", "USER", "SASL PLAIN login", "pipelining", "STLS", "IMPLEMENTATION x 1.0"]);
    assert.equal(caps.known, true);
    assert.equal(caps.pipelining, true);
    assert.equal(caps.stls, true);
    assert.equal(caps.user, true);
    assert.deepEqual(caps.sasl, ["PLAIN", "LOGIN"]);
  });
});

describe("session over the test server", () => {
  const withSession = (run: (server: Pop3TestServer, session: Pop3Session) => Promise<void>): Promise<void> =>
    withPop3Session({ messages: MESSAGES, implicitTls: true }, run);

  it("STAT, LIST and UIDL describe the maildrop", () =>
    withSession(async (_server, session) => {
      const sizes = MESSAGES.map((m) => m.body.length);
      assert.deepEqual(await session.stat(), { count: 3, size: sizes.reduce((a, b) => a + b) });
      assert.deepEqual(await session.list(), sizes.map((size, i) => ({ msgNo: i + 1, size })));
      assert.deepEqual(await session.uidl(), MESSAGES.map((m, i) => ({ msgNo: i + 1, uid: m.uid })));
      assert.match(session.greeting, /^\+OK/);
      await session.noop();
    }));

  it("DELE marks (gone from listings), QUIT commits", () =>
    withSession(async (server, session) => {
      await session.dele(2);
      assert.deepEqual((await session.uidl()).map((u) => u.msgNo), [1, 3]);
      assert.equal((await session.stat()).count, 2);
      await rejectsWithCode(session.dele(2), "PROTOCOL_ERROR"); // already deleted
      assert.equal(server.maildrop.length, 3, "nothing is removed before QUIT");
      await session.quit();
      assert.deepEqual(server.maildrop.map((m) => m.uid), [MESSAGES[0]?.uid, MESSAGES[2]?.uid]);
      await rejectsWithCode(session.noop(), "CONNECTION_LOST");
    }));

  it("close() without QUIT deletes nothing", () =>
    withSession(async (server, session) => {
      await session.deleMany([1, 2, 3]);
      session.close();
      await rejectsWithCode(session.stat(), "CONNECTION_LOST");
      assert.equal(server.maildrop.length, 3);
    }));

  it("rejects a message number that is not a positive integer before sending anything", () =>
    withSession(async (server, session) => {
      await rejectsWithCode(session.retrieve(0), "VALIDATION_FAILED");
      await rejectsWithCode(session.dele(1.5), "VALIDATION_FAILED");
      assert.equal(server.count("RETR") + server.count("DELE"), 0);
    }));
});
