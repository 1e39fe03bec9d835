/**
 * The sandbox's mail store and byte helpers: CRLF normalisation touches only bare LFs, dot-stuffing
 * only line-initial dots, the named limits refuse (never drop) a message, a multi-recipient
 * delivery is all or none, and the demo seed leaves storage that is not empty alone.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { dotStuff, multiLineBody } from "../../devhost/sandbox/dotStuff.js";
import { CATCH_ALL, MailStore, SANDBOX_LIMITS, toCrlfLines } from "../../devhost/sandbox/mailStore.js";
import { seedDemoOrg } from "../../devhost/sandbox/demoOrg.js";

const b = (s: string): Buffer => Buffer.from(s, "latin1");

describe("mail sandbox: store and bytes", () => {
  it("toCrlfLines turns bare LF into CRLF, adds a final CRLF and keeps every other byte", () => {
    assert.deepEqual(toCrlfLines(b("a\nb\r\nc\rd\xff\x00")), b("a\r\nb\r\nc\rd\xff\x00\r\n"));
    assert.deepEqual(toCrlfLines(b("")), b(""));
    assert.deepEqual(toCrlfLines(b("\n")), b("\r\n"));
  });

  it("dotStuff doubles only dots that start a line; the body ends with .CRLF", () => {
    assert.deepEqual(dotStuff(b(".a\r\nb.c\r\n..\r\n.\r\n")), b("..a\r\nb.c\r\n...\r\n..\r\n"));
    assert.deepEqual(multiLineBody(b("")), b(".\r\n"));
  });

  it("files mail for a sandbox user in its maildrop and anything else in the catch-all", () => {
    const store = new MailStore([{ address: "Bob@sandbox.test", password: "pw-bob-123" }], "pw-catch-all");
    const toBob = store.deliver("bob@SANDBOX.test", b("x\r\n"));
    const toOther = store.deliver("someone@example.com", b("y\r\n"));
    assert.ok(toBob.ok && toOther.ok);
    assert.equal(toBob.maildrop, "bob@sandbox.test");
    assert.equal(toOther.maildrop, CATCH_ALL);
    assert.equal(store.authenticate("bob@sandbox.test", "pw-bob-123"), "bob@sandbox.test");
    assert.equal(store.authenticate("bob@sandbox.test", "wrong"), undefined);
  });

  it("refuses a message over the size limit and a delivery past the maildrop limit, all or none", () => {
    const store = new MailStore([{ address: "a@sandbox.test", password: "pw-a-1234" }], "pw-catch-all");
    const big = store.deliver("a@sandbox.test", Buffer.alloc(SANDBOX_LIMITS.messageBytes + 1, 0x61));
    assert.equal(big.ok ? "" : big.error.code, "MESSAGE_TOO_LARGE");
    for (let i = 0; i < SANDBOX_LIMITS.messagesPerMaildrop - 1; i++) assert.ok(store.deliver("a@sandbox.test", b("m\r\n")).ok);
    const both = store.deliverAll(["elsewhere@example.com", "a@sandbox.test", "a@sandbox.test"], b("two copies\r\n"));
    assert.equal(both.ok ? "" : both.error.code, "MAILDROP_FULL");
    assert.equal(store.list(CATCH_ALL).length, 0, "no copy went anywhere");
    assert.equal(store.list("a@sandbox.test").length, SANDBOX_LIMITS.messagesPerMaildrop - 1);
  });

  it("the demo seed leaves storage that already holds a profile alone", async () => {
    const posts: string[] = [];
    const api = createServer((req, res) => {
      if (req.method !== "GET") posts.push(`${req.method} ${req.url}`);
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ items: req.url?.startsWith("/api/profiles") ? [{ id: "p1" }] : [], continuationToken: null }));
    });
    await new Promise<void>((r) => api.listen(0, "127.0.0.1", r));
    try {
      const result = await seedDemoOrg({
        apiUrl: `http://127.0.0.1:${(api.address() as AddressInfo).port}/api`, adminKey: "k-admin-1", masterKey: "k-master-1",
        sandbox: { host: "127.0.0.1", smtpPort: 1, pop3Port: 2 },
      });
      assert.deepEqual(result, { seeded: false, reason: "storage already holds profiles or mailboxes" });
      assert.deepEqual(posts, [], "nothing was created");
    } finally {
      api.close();
    }
  });
});
