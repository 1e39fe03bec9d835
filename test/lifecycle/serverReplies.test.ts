/**
 * What a mail server or token endpoint says reaches the admin only cut short and without control
 * characters (issue 10, point 8): the server chooses those bytes, and they land in alerts, in the
 * mailbox's lastError and in job results, which consoles and terminals display.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startTestApp, type TestApp } from "../support/app.js";
import { enabledMailbox } from "../support/mailboxes.js";
import { Pop3TestServer } from "../support/pop3-server.js";
import { startRawServer } from "../support/pop3-raw-server.js";
import { pollMailbox } from "../../shared/sync/incoming/pollMailbox.js";
import { handleTestMessage } from "../../shared/lifecycle/testJobs.js";
import { classifySmtpError } from "../../shared/smtp/classify.js";
import { OAuthTokenSource } from "../../shared/oauth/tokenSource.js";
import { ManualClock } from "../../shared/runtime/clock.js";
import { raiseAlert } from "../../shared/sync/alerts.js";
import { cleanText, MAX_ALERT_MESSAGE_CHARS, MAX_QUOTED_REPLY_CHARS, quoteServer } from "../../shared/net/quote.js";

let app: TestApp;
before(async () => {
  app = await startTestApp();
  await app.call("PATCH", "/api/settings", { body: { alerts: { warning: true } } });
});
after(async () => { await app?.stop(); });

// Escape sequences that recolour, retitle or move a terminal's cursor, C0/C1 controls, DEL and a
// right-to-left override; no CR or LF (a POP3 line cannot hold them).
const HOSTILE = "\x1b[31;1mRED\x1b[0m \x1b]0;pwned title\x07 bell\x07 nul\x00 bs\x08 del\x7f c1\u009b2J rlo\u202etxt.exe tab\there ";
const CONTROL = /[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

function assertClean(text: string, what: string): void {
  assert.ok(!CONTROL.test(text), `${what} holds a control character: ${JSON.stringify(text)}`);
  assert.ok(!text.includes("pwned title"), `${what} holds an OSC payload`);
}

/** A reply quoted in `text`: clean, and no longer than the named limit. */
function assertQuotedShort(text: string, what: string): void {
  assertClean(text, what);
  assert.ok(text.length <= MAX_QUOTED_REPLY_CHARS + 250, `${what} is ${text.length} characters long`);
}

async function incomingState(mailboxId: string) {
  const mb = (await app.call("GET", `/api/mailboxes/${mailboxId}`)).body;
  const alerts = [
    ...(await app.call("GET", `/api/alerts?mailboxId=${mailboxId}&level=error`)).body.items,
    ...(await app.call("GET", `/api/alerts?mailboxId=${mailboxId}&level=warning`)).body.items,
  ] as { code: string; message: string }[];
  return { lastError: mb.lastError as { code: string; message: string } | null, alerts };
}

test("quoteServer: escape sequences and controls removed, then cut to the named limit", () => {
  assert.equal(cleanText(HOSTILE), "RED bell nul bs del c1 rlo txt.exe tab here");
  const long = quoteServer(`-ERR ${HOSTILE}${"x".repeat(5000)}`);
  assert.equal(long.length, MAX_QUOTED_REPLY_CHARS);
  assert.ok(long.startsWith("-ERR RED bell"));
  assert.ok(long.endsWith("…"));
  assert.equal(quoteServer("short and clean"), "short and clean");
  assert.equal(quoteServer(`${"a".repeat(MAX_QUOTED_REPLY_CHARS - 2)}😀😀`).length, MAX_QUOTED_REPLY_CHARS - 1, "a surrogate pair is never split");
});

test("a POP3 login refused with a long, hostile -ERR: lastError and the alert quote it short and clean", async () => {
  const reply = `-ERR [AUTH] ${HOSTILE}${"y".repeat(4000 - HOSTILE.length)}`; // under the 4096-byte line limit
  const server = await Pop3TestServer.start({ loginError: reply });
  try {
    const ids = await enabledMailbox(app, { port: server.port, address: "hostile-err@contoso.test" });
    const r = await pollMailbox(app.services, ids.mailboxId);
    assert.equal(r.status, "failed");
    const { lastError, alerts } = await incomingState(ids.mailboxId);
    assert.equal(lastError?.code, "AUTH_FAILED");
    assertQuotedShort(lastError?.message ?? "", "lastError");
    assert.match(lastError?.message ?? "", /rejected the login \(server said: "-ERR \[AUTH\] RED bell/, "the admin still reads what the server said");
    const alert = alerts.find((a) => a.code === "AUTH_FAILED");
    assert.ok(alert, JSON.stringify(alerts));
    assertQuotedShort(alert.message.replace(/Check the user name.*$/, ""), "alert");
    assertClean(alert.message, "alert");

    // Test & Enable reports the same failure through its own path.
    await handleTestMessage(app.services, { type: "mailbox", jobId: "00000000-0000-4000-8000-0000000000e1", mailboxId: ids.mailboxId, applyDefaults: false });
    const after = await incomingState(ids.mailboxId);
    assertQuotedShort(after.lastError?.message ?? "", "lastError after Test & Enable");
    for (const a of after.alerts) assertClean(a.message, `alert ${a.code}`);
  } finally {
    await server.close();
  }
});

test("a 5,000-character -ERR (over the line limit) ends as a short, clean limit error", async () => {
  const reply = `-ERR ${HOSTILE}${"z".repeat(5000)}`;
  const server = await Pop3TestServer.start({ loginError: reply });
  try {
    const ids = await enabledMailbox(app, { port: server.port, address: "hostile-long@contoso.test" });
    await pollMailbox(app.services, ids.mailboxId);
    const { lastError, alerts } = await incomingState(ids.mailboxId);
    assert.equal(lastError?.code, "PROTOCOL_LIMIT_EXCEEDED");
    assertQuotedShort(lastError?.message ?? "", "lastError");
    assert.ok(alerts.length > 0);
    for (const a of alerts) assertClean(a.message, `alert ${a.code}`);
    for (const a of alerts) assert.ok(!a.message.includes("zzzz"), "nothing of the reply's body is quoted");
  } finally {
    await server.close();
  }
});

test("a hostile greeting banner is quoted short and clean", async () => {
  const raw = await startRawServer((socket) => socket.end(`-ERR [SYS/PERM] ${HOSTILE}${"b".repeat(3500)}\r\n`));
  try {
    const ids = await enabledMailbox(app, { port: raw.port, address: "hostile-banner@contoso.test" });
    await pollMailbox(app.services, ids.mailboxId);
    const { lastError, alerts } = await incomingState(ids.mailboxId);
    assert.equal(lastError?.code, "SERVER_ERROR");
    assertQuotedShort(lastError?.message ?? "", "lastError");
    assert.match(lastError?.message ?? "", /refused the connection \(server said: "-ERR \[SYS\/PERM\] RED/);
    for (const a of alerts) assertClean(a.message, `alert ${a.code}`);
  } finally {
    await raw.close();
  }
});

test("an SMTP reply is quoted short and clean; the error keeps the reply whole in `response`", () => {
  const response = `550 5.7.1 ${HOSTILE}${"s".repeat(5000)}`;
  for (const e of [
    { code: "EENVELOPE", command: "RCPT TO", responseCode: 550, response },
    { code: "EAUTH", command: "AUTH PLAIN", responseCode: 535, response },
    { code: "EPROTOCOL", response },
    { code: "ETLS", responseCode: 454, response },
    { responseCode: 421, response },
  ]) {
    const err = classifySmtpError(Object.assign(new Error("nodemailer"), e));
    assertQuotedShort(err.message, `${e.code ?? e.responseCode} message`);
    assert.match(err.message, /550 5\.7\.1 RED bell/);
    assert.equal(err.response, response, "the raw reply stays available to the code, never to the message");
  }
});

test("an OAuth token endpoint's error_description is quoted short and clean, and never holds the secret", async () => {
  const secret = "client-Secret-value-42";
  const fetchImpl = (): Promise<Response> => Promise.resolve(new Response(JSON.stringify({
    error: `invalid_client\x1b[2J`,
    error_description: `AADSTS7000215: ${HOSTILE} you sent ${secret} ${"d".repeat(5000)}`,
  }), { status: 401, headers: { "content-type": "application/json" } }));
  const source = new OAuthTokenSource(new ManualClock(), fetchImpl);
  const err = await source.token({ tokenUrl: "https://login.example.test/token", clientId: "c", clientSecret: secret, scope: "s" })
    .then(() => assert.fail("no token expected"), (e: unknown) => e as Error);
  assertClean(err.message, "token error");
  assert.ok(err.message.length <= 2 * MAX_QUOTED_REPLY_CHARS + 150, `${err.message.length} characters`);
  assert.ok(!err.message.includes(secret));
  assert.match(err.message, /invalid_client: AADSTS7000215: RED bell/);
});

test("raiseAlert stores any message clean and bounded, whatever it was built from", async () => {
  const { mailboxId } = await enabledMailbox(app, { port: 1, address: "alert-guard@contoso.test" });
  await raiseAlert(app.services, {
    level: "warning", code: "PROTOCOL_ERROR", mailboxId, profileId: null,
    message: `Mailbox alert-guard@contoso.test: ${HOSTILE}${"m".repeat(10_000)}`,
  });
  const alert = (await app.call("GET", `/api/alerts?mailboxId=${mailboxId}&level=warning`)).body.items[0];
  assertClean(alert.message, "alert");
  assert.equal(alert.message.length, MAX_ALERT_MESSAGE_CHARS);
});
