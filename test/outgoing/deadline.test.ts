/**
 * @module The SMTP session's overall deadline against servers that drip-feed their replies (so
 * nodemailer's timeouts, which restart on every byte, never fire): before the end of data it is a
 * transient CONNECTION_TIMEOUT and nothing can have been delivered; after the final "." went out
 * with no answer it is SEND_OUTCOME_UNKNOWN, never retried (docs/decisions/0004). Raw `net`
 * servers give byte-exact control; the send-run tests use the real smtp-server package.
 */
import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { performance } from "node:perf_hooks";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { AppError, type ErrorCode } from "../../shared/errors.js";
import { openSmtpSession } from "../../shared/smtp/session.js";
import type { SmtpClientOptions, SmtpEndpoint } from "../../shared/smtp/options.js";
import { sendMailbox } from "../../shared/sync/outgoing/sendMailbox.js";
import { ScriptedSmtpServer } from "./support/smtpServer.js";
import { alertsFor, createSender, emailOf, postEmail, startOutgoingApp, type OutgoingApp } from "./support/fixture.js";

/** Late enough that a deadline which fired is not mistaken for slowness; CI machines are noisy. */
const MARGIN_MS = 1500;
/** nodemailer's own timeouts far above every deadline here: only the deadline can end these tests. */
const PATIENT: SmtpClientOptions = { connectTimeoutMs: 10_000, greetingTimeoutMs: 10_000, socketTimeoutMs: 60_000 };

type Step = "greeting" | "MAIL" | "RCPT" | "DATA" | "endOfData";

interface RawSmtp {
  port: number;
  /** A DATA command was received. */
  sawData: boolean;
  /** The final "CRLF . CRLF" was received. */
  sawEndOfData: boolean;
  close(): Promise<void>;
}

/**
 * A byte-exact SMTP server: no AUTH, no STARTTLS. `drip` steps have their reply written one byte
 * every `dripMs`; `silentAfterData` never answers the end of data.
 */
async function rawSmtp(o: { drip?: Step[]; dripMs?: number; silentAfterData?: boolean }): Promise<RawSmtp> {
  const sockets = new Set<net.Socket>();
  const state = { sawData: false, sawEndOfData: false };
  const write = async (socket: net.Socket, step: Step, reply: string): Promise<void> => {
    if (!(o.drip ?? []).includes(step)) return void socket.write(reply);
    for (const byte of Buffer.from(reply)) {
      if (socket.destroyed) return;
      socket.write(Buffer.from([byte]));
      await sleep(o.dripMs ?? 50);
    }
  };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
    let input = "";
    let inData = false;
    void write(socket, "greeting", "220 raw.test ESMTP a greeting that takes its time to arrive in full\r\n");
    socket.on("data", (chunk: Buffer) => {
      input += chunk.toString("latin1");
      if (inData) {
        const end = input.indexOf("\r\n.\r\n");
        if (end === -1) return;
        input = input.slice(end + 5);
        inData = false;
        state.sawEndOfData = true;
        if (!o.silentAfterData) void write(socket, "endOfData", "250 2.0.0 Ok: queued as 4F2\r\n");
        return;
      }
      for (let at = input.indexOf("\r\n"); at !== -1 && !inData; at = input.indexOf("\r\n")) {
        const line = input.slice(0, at).toUpperCase();
        input = input.slice(at + 2);
        if (line.startsWith("EHLO")) socket.write("250-raw.test\r\n250 8BITMIME\r\n");
        else if (line.startsWith("MAIL")) void write(socket, "MAIL", "250 2.1.0 Ok\r\n");
        else if (line.startsWith("RCPT")) void write(socket, "RCPT", "250 2.1.5 Ok\r\n");
        else if (line === "DATA") {
          state.sawData = true;
          inData = true;
          void write(socket, "DATA", "354 End data with <CR><LF>.<CR><LF>\r\n");
        } else if (line === "RSET") socket.write("250 2.0.0 Ok\r\n");
        else if (line === "QUIT") socket.end("221 2.0.0 Bye\r\n");
        else socket.write("502 5.5.2 Error: command not recognized\r\n");
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    port: (server.address() as net.AddressInfo).port,
    get sawData() { return state.sawData; },
    get sawEndOfData() { return state.sawEndOfData; },
    close: () => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}

const endpoint = (port: number): SmtpEndpoint => ({
  host: "127.0.0.1", port, useSsl: false, authProtocol: "auto", allowUntrustedCertificates: false, allowCredentialsOverInsecureChannels: true,
});
const CREDENTIALS = { userName: "alice", password: "alice-pw" };
const ENVELOPE = { from: "alice@contoso.test", to: ["bob@fabrikam.test"] };
const MESSAGE = Buffer.from("Subject: hello\r\n\r\nHello Bob\r\n");

async function failsWith(promise: Promise<unknown>, code: ErrorCode): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof AppError, `expected an AppError, got ${String(err)}`);
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    return err;
  }
  assert.fail(`expected ${code}, but it succeeded`);
}

function withinDeadline(startedAt: number, deadlineMs: number): void {
  const elapsed = performance.now() - startedAt;
  assert.ok(elapsed >= deadlineMs - 20, `ended after ${elapsed.toFixed(0)} ms, before the ${deadlineMs} ms deadline`);
  assert.ok(elapsed < deadlineMs + MARGIN_MS, `ended after ${elapsed.toFixed(0)} ms, long past the ${deadlineMs} ms deadline`);
}

async function withRaw(o: Parameters<typeof rawSmtp>[0], run: (server: RawSmtp) => Promise<void>): Promise<void> {
  const server = await rawSmtp(o);
  try {
    await run(server);
  } finally {
    await server.close();
  }
}

describe("the SMTP session deadline against a drip-feeding server", () => {
  test("a drip-fed greeting: CONNECTION_TIMEOUT while connecting", async () => {
    // ~70 bytes at 50 ms: ~3.5 s of greeting against a 400 ms deadline.
    await withRaw({ drip: ["greeting"] }, async (server) => {
      const started = performance.now();
      const err = await failsWith(openSmtpSession(endpoint(server.port), CREDENTIALS, { ...PATIENT, deadlineMs: 400 }), "CONNECTION_TIMEOUT");
      withinDeadline(started, 400);
      assert.equal(err.transient, true);
      assert.match(err.message, /overall deadline of 400 ms while connecting/);
    });
  });

  test("a drip-fed reply to RCPT TO: CONNECTION_TIMEOUT (transient) before DATA, and the session is closed", async () => {
    await withRaw({ drip: ["RCPT"], dripMs: 150 }, async (server) => {
      const started = performance.now();
      const session = await openSmtpSession(endpoint(server.port), CREDENTIALS, { ...PATIENT, deadlineMs: 800 });
      try {
        assert.ok(session.remainingMs > 0 && session.remainingMs <= 800);
        const err = await failsWith(session.send(ENVELOPE, MESSAGE), "CONNECTION_TIMEOUT");
        withinDeadline(started, 800);
        assert.equal(err.transient, true);
        assert.equal(err.response, undefined, "no reply: the rule of sendOne (an explicit reply after the end) is untouched");
        assert.match(err.message, /before the end of data went out/);
        assert.equal(server.sawData, false);
        assert.equal(session.alive, false);
        assert.equal(session.remainingMs, 0);
        await failsWith(session.send(ENVELOPE, MESSAGE), "CONNECTION_TIMEOUT");
      } finally {
        session.close();
      }
    });
  });

  for (const shape of ["Buffer", "stream"] as const) {
    test(`no answer after the final "." (${shape}): SEND_OUTCOME_UNKNOWN, never retryable`, async () => {
      await withRaw({ silentAfterData: true }, async (server) => {
        const started = performance.now();
        const session = await openSmtpSession(endpoint(server.port), CREDENTIALS, { ...PATIENT, deadlineMs: 800 });
        try {
          const message = shape === "Buffer" ? MESSAGE : Readable.from([MESSAGE.subarray(0, 10), MESSAGE.subarray(10)]);
          const err = await failsWith(session.send(ENVELOPE, message), "SEND_OUTCOME_UNKNOWN");
          withinDeadline(started, 800);
          assert.equal(server.sawEndOfData, true);
          assert.equal(err.transient, false);
          assert.equal(err.response, undefined);
          assert.match(err.message, /after the end of data went out, before the server answered/);
          assert.equal(session.alive, false);
        } finally {
          session.close();
        }
      });
    });
  }

  test('a drip-fed answer after the final ".": SEND_OUTCOME_UNKNOWN', async () => {
    // "250 2.0.0 Ok: queued as 4F2" at 100 ms a byte: ~3 s against an 800 ms deadline.
    await withRaw({ drip: ["endOfData"], dripMs: 100 }, async (server) => {
      const session = await openSmtpSession(endpoint(server.port), CREDENTIALS, { ...PATIENT, deadlineMs: 800 });
      try {
        const err = await failsWith(session.send(ENVELOPE, MESSAGE), "SEND_OUTCOME_UNKNOWN");
        assert.equal(err.transient, false);
        assert.equal(server.sawEndOfData, true);
      } finally {
        session.close();
      }
    });
  });

  test("a prompt server is untouched: sends go through and QUIT ends the deadline's timer", async () => {
    await withRaw({}, async (server) => {
      const session = await openSmtpSession(endpoint(server.port), CREDENTIALS, { ...PATIENT, deadlineMs: 5000 });
      const result = await session.send(ENVELOPE, MESSAGE);
      assert.match(result.response, /^250 /);
      assert.ok(session.remainingMs > 2000);
      session.quit();
      // A timer left behind would keep this test file's process alive for the whole deadline.
    });
  });
});

describe("a send run under its deadline (smtp-server)", () => {
  let env: OutgoingApp;
  let server: ScriptedSmtpServer;
  before(async () => {
    env = await startOutgoingApp();
    server = await ScriptedSmtpServer.start({ tls: "starttls" });
  });
  after(async () => {
    await server?.close();
    await env?.app.stop();
  });
  beforeEach(() => { server.dataMode = "accept"; });

  test('stalled after the final ".": the deadline, not the 60 s socket timeout, fails the email as outcome unknown, never resent', async () => {
    const s = await createSender(env.app, { port: server.port, useSsl: false });
    const e = await postEmail(env.app, { mailboxId: s.mailboxId, to: ["bob@fabrikam.test"] });
    server.dataMode = "stallAfterData";
    const started = performance.now();
    await sendMailbox(env.app.services, s.mailboxId, { smtp: { ...PATIENT, deadlineMs: 1500 } });
    assert.ok(performance.now() - started < 1500 + 10_000, "ended by the deadline (Storage writes around it take a while)");
    const failed = await emailOf(env.app, e.id);
    assert.deepEqual([failed.status, failed.error?.code, failed.error?.transient], ["failed", "SEND_OUTCOME_UNKNOWN", false]);
    assert.match(failed.error?.message ?? "", /may have been delivered/);
    assert.match(failed.error?.message ?? "", /overall deadline of 1500 ms after the end of data went out/);
    assert.ok((await alertsFor(env.app, s.mailboxId)).some((a) => a.level === "error" && a.emailId === e.id));
    server.dataMode = "accept";
    env.clock.advance(5 * 60_000);
    await sendMailbox(env.app.services, s.mailboxId, { smtp: PATIENT });
    assert.equal(server.received.filter((r) => r.sha256 === e.sha256).length, 1, "the server got it once");
  });

  test("a drip-fed reply before DATA: the email stays pendingSend (transient) and nothing was delivered", async () => {
    await withRaw({ drip: ["MAIL"], dripMs: 150 }, async (raw) => {
      const s = await createSender(env.app, { port: raw.port, useSsl: false, profile: { allowCredentialsOverInsecureChannels: true } });
      const e = await postEmail(env.app, { mailboxId: s.mailboxId, to: ["bob@fabrikam.test"] });
      assert.equal(await sendMailbox(env.app.services, s.mailboxId, { smtp: { ...PATIENT, deadlineMs: 1000 } }), "done");
      const retry = await emailOf(env.app, e.id);
      assert.deepEqual([retry.status, retry.attempts, retry.error?.code, retry.error?.transient], ["pendingSend", 1, "CONNECTION_TIMEOUT", true]);
      assert.equal(raw.sawData, false);
    });
  });
});
