/**
 * @module Pipelining (RFC 2449 §6.6): with PIPELINING several RETR/DELE go out before the replies
 * and the replies are matched in order; without it, strictly one command at a time.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Pop3Session } from "../../shared/pop3/index.js";
import { PIPELINE_WINDOW } from "../../shared/pop3/limits.js";
import { Pop3TestServer, type Pop3TestServerOptions } from "../support/pop3-server.js";
import { readAll, rejectsWithCode, TRICKY_MESSAGES, withPop3Session } from "../support/pop3-test-helpers.js";

/** 40 messages of different sizes and shapes, each naming its own number. */
const MESSAGES = Array.from({ length: 40 }, (_, i) => {
  const tricky = Object.values(TRICKY_MESSAGES)[i % Object.keys(TRICKY_MESSAGES).length] ?? Buffer.alloc(0);
  return Buffer.concat([Buffer.from(`X-Seq: ${i + 1}\r\n${"pad\r\n".repeat(i * 13)}`), tricky]);
});
const ALL = MESSAGES.map((_, i) => i + 1);

const withServer = (options: Partial<Pop3TestServerOptions>, run: (server: Pop3TestServer, session: Pop3Session) => Promise<void>): Promise<void> =>
  withPop3Session({ messages: MESSAGES, implicitTls: true, ...options }, run);

async function retrieveAll(session: Pop3Session, msgNos: number[]): Promise<Buffer[]> {
  const bodies: Buffer[] = [];
  for await (const { msgNo, stream } of session.retrieveMany(msgNos)) {
    assert.equal(msgNo, msgNos[bodies.length]);
    bodies.push(await readAll(stream));
  }
  return bodies;
}

describe("pipelining", () => {
  it("pipelined RETR of 40 messages arrive intact and in order", () =>
    withServer({ pipelining: true }, async (server, session) => {
      assert.equal(session.capabilities.pipelining, true);
      assert.deepEqual(await retrieveAll(session, ALL), MESSAGES);
      assert.ok(server.stats.maxQueuedCommands > 1, "commands were not pipelined");
      assert.ok(server.stats.maxQueuedCommands <= PIPELINE_WINDOW);
    }));

  it("stays intact when the pipelined replies arrive one byte at a time", () =>
    withServer({ pipelining: true, split: "every-byte" }, async (_server, session) => {
      const some = [3, 1, 8, 2, 9, 9];
      assert.deepEqual(await retrieveAll(session, some), some.map((n) => MESSAGES[n - 1]));
    }));

  it("without PIPELINING sends one command at a time", () =>
    withServer({ pipelining: false }, async (server, session) => {
      assert.deepEqual(await retrieveAll(session, ALL), MESSAGES);
      await session.deleMany([1, 2, 3]);
      assert.equal(server.stats.pipelineViolations, 0);
      assert.equal(server.stats.maxQueuedCommands, 1);
    }));

  it("leaving the loop early drops the RETRs in flight and keeps the session in step", () =>
    withServer({ pipelining: true }, async (_server, session) => {
      for await (const { msgNo } of session.retrieveMany(ALL)) {
        if (msgNo === 2) break;
      }
      assert.deepEqual(await session.stat(), { count: 40, size: MESSAGES.reduce((s, m) => s + m.length, 0) });
      assert.deepEqual(await retrieveAll(session, [40]), [MESSAGES[39]]);
    }));

  it("a body the loop did not read is dropped, the next one is intact", () =>
    withServer({ pipelining: true }, async (_server, session) => {
      const seen: number[] = [];
      for await (const { msgNo, stream } of session.retrieveMany([5, 6, 7])) {
        seen.push(msgNo);
        if (msgNo === 6) assert.deepEqual(await readAll(stream), MESSAGES[5]);
      }
      assert.deepEqual(seen, [5, 6, 7]);
    }));

  it("a '-ERR' to one RETR ends the loop with that error; the session goes on", () =>
    withServer({ pipelining: true }, async (_server, session) => {
      const got: number[] = [];
      await rejectsWithCode((async () => {
        for await (const { msgNo, stream } of session.retrieveMany([1, 99, 2])) {
          await readAll(stream);
          got.push(msgNo);
        }
      })(), "PROTOCOL_ERROR");
      assert.deepEqual(got, [1]);
      await session.noop();
    }));

  it("pipelined DELE then QUIT removes exactly those messages", () =>
    withServer({ pipelining: true }, async (server, session) => {
      await session.deleMany([2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
      assert.ok(server.stats.maxQueuedCommands > 1);
      await session.quit();
      assert.deepEqual(server.maildrop.map((m) => m.uid), ALL.filter((n) => n % 2 === 1 || n > 20).map((n) => `uid-${n}`));
    }));
});
