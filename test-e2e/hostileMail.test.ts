/**
 * End to end against Dovecot: one message of each hostile class (DESIGN.md 9, "Every byte of mail
 * is hostile") among good ones, in one maildrop. Within two polls every good message is received
 * byte for byte, every hostile one is either filed with its fields capped or quarantined with a
 * coded error and its raw bytes intact, and the mailbox itself never fails (API.md, "Email
 * activities": a bad message "never stops the messages after it").
 *
 * The maildrop is dave's. Every other e2e user's Maildir belongs to one test file, which empties
 * it; dave's only receives the outgoing tests' deliveries, which they find by Message-ID in the
 * Maildir files. So this file never empties it: it removes only the files it put there, and it
 * polls with deleteEmailsAfterProcessing off, because DELE could take an outgoing test's delivery
 * away before that test has read it. (A user of its own in scripts/e2e/setup.sh would allow the
 * deletion-on run too.)
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { startTestApp, MASTER_KEY, type TestApp } from "../test/support/app.js";
import { testAndEnable } from "../test/support/mailboxes.js";
import { deliverToMaildir, mailServers, type MailServers } from "./support/mailServers.js";
import { fetchAllNaively } from "./support/naivePop3.js";
import { waitFor } from "../test/support/waitFor.js";

const USER = "dave";
const QUARANTINE_CODES = new Set(["MESSAGE_UNPARSABLE", "MESSAGE_TOO_LARGE", "MESSAGE_LIMIT_EXCEEDED", "PROCESSING_FAILED"]);
/**
 * Low enough that a 4 MiB message is over it, high enough that every other hostile message (the
 * largest is the 2 MiB line) is under it and meets the limit it is about, not the size limit.
 * (256 KB would send the 2 MiB line and the 200 long-named attachments down the size path too.)
 */
const MAX_MESSAGE_SIZE_KB = 3072;

const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");
const latin1 = (s: string): Buffer => Buffer.from(s, "latin1");
/** A message from header lines and body lines, CRLF line ends (what Dovecot serves from a Maildir). */
const mail = (headers: string[], body: string[]): Buffer => latin1([...headers, "", ...body].join("\r\n") + "\r\n");

interface Case {
  label: string;
  poison: boolean;
  bytes: Buffer;
  /** For a hostile message that was filed (status received): its fields are capped. */
  capped?: (e: any) => void;
}

/** Good messages g0..g12 with the twelve hostile ones between them; `run` keeps Message-IDs unique per run. */
function corpus(run: string, domain: string): Case[] {
  const to = `To: ${USER}@${domain}`;
  const date = `Date: ${new Date().toUTCString()}`;
  const tag = (label: string): string => `X-Hostile-Case: ${run}-${label}`;
  const good = (i: number): Case => ({
    label: `good-${i}`, poison: false,
    bytes: mail(
      [`Message-ID: <good-${i}-${run}@fabrikam.test>`, `From: "Sender ${i}" <sender${i}@fabrikam.test>`, to, `Subject: good message ${i}`, date, tag(`good-${i}`)],
      [`Good message ${i}.`, ".a line with a leading dot", "the end"],
    ),
  });
  /** The header section of a hostile message; a Message-ID among `more` replaces the default one. */
  const head = (label: string, ...more: string[]): string[] => [
    ...(more.some((h) => h.startsWith("Message-ID:")) ? [] : [`Message-ID: <${label}-${run}@fabrikam.test>`]),
    "From: mallory@fabrikam.test", to, date, tag(label), ...more,
  ];

  // 100 levels of multipart: the top one (boundary b0) and 99 inside it, a text part at the bottom.
  const last = 99;
  const nested: string[] = [];
  for (let d = 0; d < last; d++) nested.push(`--b${d}`, `Content-Type: multipart/mixed; boundary="b${d + 1}"`, "");
  nested.push(`--b${last}`, "Content-Type: text/plain", "", "the bottom of the nest", `--b${last}--`);
  for (let d = last - 1; d >= 0; d--) nested.push(`--b${d}--`);

  const attachments: string[] = [];
  for (let i = 0; i < 200; i++) {
    const name = `${String(i).padStart(3, "0")}-${"n".repeat(992)}.txt`; // 1,000 characters
    attachments.push("--att", `Content-Type: text/plain; name="${name}"`, `Content-Disposition: attachment; filename="${name}"`, "Content-Transfer-Encoding: base64", "", Buffer.from(`attachment ${i}\n`).toString("base64"));
  }
  attachments.push("--att--");

  const poison: Case[] = [
    {
      label: "subject-250k", poison: true,
      bytes: mail(head("subject-250k", `Subject: ${"long subject ".repeat(20_834).slice(0, 250_000)}`), ["a very long subject"]),
      capped: (e) => assert.ok(e.subject.length < 250_000, `subject of ${e.subject.length} characters`),
    },
    {
      label: "message-id-600", poison: true,
      // / \ # ? are not allowed in a PartitionKey or RowKey; 600 characters are more than a key should hold.
      bytes: mail(head("message-id-600", `Message-ID: <${`${run}/a\\b#c?d`.repeat(100).slice(0, 584)}@fabrikam.test>`, "Subject: a hostile Message-ID"), ["key material"]),
    },
    {
      label: "tracking-token-400", poison: true,
      bytes: mail(head("tracking-token-400", `Subject: RE: your order CRM:${"7".repeat(400)}`), ["a token no one issued"]),
      capped: (e) => assert.ok(e.trackingToken === null || e.trackingToken.length < 404, `trackingToken of ${e.trackingToken?.length} characters`),
    },
    {
      label: "references-5000", poison: true,
      bytes: mail(head("references-5000", "Subject: five thousand references", `In-Reply-To: <ref-4999-${run}@fabrikam.test>`,
        `References: ${Array.from({ length: 5000 }, (_, i) => `<ref-${i}-${run}@fabrikam.test>`).join("\r\n ")}`), ["a long thread"]),
      capped: (e) => assert.ok(e.references.length < 5000, `${e.references.length} references kept`),
    },
    {
      label: "recipients-3000", poison: true,
      bytes: mail([...head("recipients-3000", "Subject: three thousand recipients").filter((h) => !h.startsWith("To:")),
        `To: ${USER}@${domain},\r\n ${Array.from({ length: 2999 }, (_, i) => `r${i}@fabrikam.test`).join(",\r\n ")}`], ["to everyone"]),
      capped: (e) => assert.ok(e.to.length + e.cc.length + e.bcc.length < 3000, `${e.to.length + e.cc.length + e.bcc.length} recipients kept`),
    },
    {
      label: "attachments-200", poison: true,
      bytes: mail(head("attachments-200", "Subject: two hundred attachments", "MIME-Version: 1.0", 'Content-Type: multipart/mixed; boundary="att"'), attachments),
      capped: (e) => {
        assert.ok(e.attachments.length <= 200, `${e.attachments.length} attachments listed`);
        for (const a of e.attachments) assert.ok(a.filename.length < 1000, `an attachment name of ${a.filename.length} characters`);
      },
    },
    {
      label: "nul-8bit-headers", poison: true,
      bytes: mail(head("nul-8bit-headers", "Subject: caf\xe9 \x00nul\x00 \xff\xfe\x80", "X-Binary: \x00\x01\x02\x7f\x80\x81\xc3\x28", "Reply-To: \"J\x00hn \xe9\" <john@fabrikam.test>"), ["body after NULs"]),
    },
    {
      label: "not-a-message", poison: true,
      // No header section, no blank line, no MIME: just lines (one with a colon-less "header").
      bytes: latin1(`This is not an email at all\r\nno headers and no separator ${run}-not-a-message\r\n\x01\x02\x03 binary\r\n`),
    },
    {
      label: "mime-depth-100", poison: true,
      bytes: mail(head("mime-depth-100", "Subject: nested one hundred deep", "MIME-Version: 1.0", 'Content-Type: multipart/mixed; boundary="b0"'), nested),
    },
    {
      label: "line-2mib", poison: true,
      bytes: mail(head("line-2mib", "Subject: one line of two MiB"), ["x".repeat(2 * 1024 * 1024)]),
      capped: (e) => assert.ok(e.textBody.length < 2 * 1024 * 1024, `textBody of ${e.textBody.length} characters`),
    },
    {
      label: "oversize-4mib", poison: true,
      bytes: mail(head("oversize-4mib", "Subject: over maxMessageSizeKb"), Array.from({ length: 4 * 1024 * 1024 / 64 }, (_, i) => `${String(i).padStart(8, "0")} ${"o".repeat(53)}`)),
      capped: () => assert.fail("a message over maxMessageSizeKb must be quarantined (MESSAGE_TOO_LARGE), not filed"),
    },
    {
      label: "reused-message-id", poison: true,
      // good-0's Message-ID on different bytes: not a copy of it, so not joined to it.
      bytes: mail(head("reused-message-id", `Message-ID: <good-0-${run}@fabrikam.test>`, "Subject: not good message 0"), ["different content under a known Message-ID"]),
    },
  ];
  const out: Case[] = [];
  poison.forEach((p, i) => out.push(good(i), p));
  out.push(good(poison.length));
  return out;
}

/** What a filed message kept of the fields a sender controls, for the test's diagnostic output. */
const fieldSizes = (e: any): string => [
  `subject ${e.subject.length}`, `messageId ${e.messageId.length}`, `token ${e.trackingToken?.length ?? "-"}`,
  `refs ${e.references.length}`, `rcpts ${e.to.length + e.cc.length + e.bcc.length}`, `atts ${e.attachments.length}`,
  `longest name ${Math.max(0, ...e.attachments.map((a: any) => a.filename.length))}`, `text ${e.textBody.length}`,
].join(", ");

let app: TestApp;
let servers: MailServers;

/** Removes the files this test put into dave's Maildir (now or in a run that died), nothing else. */
function removeOurFiles(): void {
  for (const sub of ["new", "cur", "tmp"]) {
    const dir = join(servers.mailRoot, USER, "Maildir", sub);
    for (const f of existsSync(dir) ? readdirSync(dir) : []) if (f.includes(".hostile-")) rmSync(join(dir, f));
  }
}

/**
 * One poll through the scheduler and the queue trigger; returns the mailbox once it records the
 * poll's end. A mailbox the scheduler will not poll (disabled, postponed) is returned as it is.
 */
async function poll(mailboxId: string): Promise<any> {
  const before = (await app.call("GET", `/api/mailboxes/${mailboxId}`)).body;
  if (!before.enabledForIncoming || before.postponedUntil) return before;
  assert.equal(await app.runFunction("mailboxScheduler"), 202);
  return waitFor("the poll to end", async () => {
    const m = (await app.call("GET", `/api/mailboxes/${mailboxId}`)).body;
    return m.lastSyncAt !== before.lastSyncAt ? m : undefined;
  }, 150_000);
}

async function allEmails(mailboxId: string): Promise<any[]> {
  const items: any[] = [];
  let token: string | null = null;
  do {
    const page: any = (await app.call("GET", `/api/emails?mailboxId=${mailboxId}&top=1000${token ? `&continuationToken=${encodeURIComponent(token)}` : ""}`)).body;
    items.push(...page.items);
    token = page.continuationToken ?? null;
  } while (token);
  return items;
}

before(async () => {
  servers = mailServers();
  app = await startTestApp();
});
after(async () => {
  if (servers) removeOurFiles();
  await app?.stop();
});

test("a dozen hostile messages among good ones: each is filed capped or quarantined raw, the good ones byte-exact, the mailbox never fails", { timeout: 600_000 }, async (t) => {
  const run = randomBytes(4).toString("hex");
  const cases = corpus(run, servers.domain);
  removeOurFiles();
  cases.forEach((c, i) => deliverToMaildir(servers, USER, `hostile-${String(i).padStart(2, "0")}-${c.label}`, c.bytes));

  // What Dovecot serves is the reference; each case is found in it by its marker (the tag header,
  // or the text of the one message without headers).
  const served = [...(await fetchAllNaively({ host: servers.host, port: servers.pop3sPort, ca: servers.ca, user: USER, password: servers.users[USER]! })).values()];
  const expected = new Map<string, Buffer>();
  for (const c of cases) {
    const marker = c.label === "not-a-message" ? `${run}-not-a-message` : `X-Hostile-Case: ${run}-${c.label}\r\n`;
    const found = served.filter((b) => b.includes(marker));
    assert.equal(found.length, 1, `${c.label}: ${found.length} messages served with its marker`);
    expected.set(c.label, found[0]!);
  }

  assert.equal((await app.call("PATCH", "/api/settings", { body: { maxMessageSizeKb: MAX_MESSAGE_SIZE_KB } })).status, 200);
  const profile = await app.call("POST", "/api/profiles", {
    body: { name: "Dovecot hostile", incoming: { host: servers.host, port: servers.pop3Port, useSsl: false }, outgoing: { host: servers.host, port: servers.submissionPort, useSsl: false }, minPollingIntervalMinutes: 0 },
  });
  assert.equal(profile.status, 201, profile.text);
  const created = await app.call("POST", "/api/mailboxes", {
    body: {
      owner: { type: "queue", id: `q-hostile-${run}` }, emailAddress: `${USER}@${servers.domain}`, profileId: profile.body.id,
      credentials: { userName: USER, password: servers.users[USER] }, incomingFilter: "all", deleteEmailsAfterProcessing: false,
    },
  });
  assert.equal(created.status, 201, created.text);
  const mid: string = created.body.id;
  await app.call("POST", `/api/mailboxes/${mid}/approve`, { key: MASTER_KEY });
  const job = await testAndEnable(app, mid);
  assert.equal(job.results[0].incomingStatus, "success", JSON.stringify(job.results));

  await poll(mid);
  await poll(mid);

  const items = await allEmails(mid);
  const bySha = new Map<string, any[]>();
  for (const e of items) bySha.set(e.sha256, [...(bySha.get(e.sha256) ?? []), e]);
  // Every problem is collected, so one run against a pipeline that is not there yet shows them all.
  const problems: string[] = [];
  const outcome: Record<string, string> = {};
  const found = new Map<string, any>();
  for (const c of cases) {
    const want = expected.get(c.label)!;
    const matches = bySha.get(sha(want)) ?? [];
    if (matches.length !== 1) {
      problems.push(`${c.label}: ${matches.length} activities with the sha256 Dovecot serves`);
      outcome[c.label] = "missing";
      continue;
    }
    const e = matches[0];
    found.set(c.label, e);
    outcome[c.label] = e.status === "quarantined" ? `quarantined ${e.error?.code}` : c.poison ? `${e.status} ${fieldSizes(e)}` : e.status;
    const check = (what: string, fn: () => void): void => {
      try { fn(); } catch (err) { problems.push(`${c.label}: ${what}: ${(err as Error).message.split("\n")[0]}`); }
    };
    const one = await app.call("GET", `/api/emails/${encodeURIComponent(e.id)}`);
    check("GET /api/emails/{id}", () => assert.equal(one.status, 200, one.text.slice(0, 200)));
    const raw = await fetch(`${app.url}/api/emails/${e.id}/raw`, { headers: { "x-functions-key": app.settings.API_KEY! } });
    const bytes = Buffer.from(await raw.arrayBuffer());
    check("/raw", () => assert.ok(raw.status === 200 && bytes.equals(want), `/raw answered ${raw.status} with ${bytes.length} bytes, not the ${want.length} Dovecot serves`));
    check("sizeBytes", () => assert.equal(e.sizeBytes, want.length));
    if (!c.poison) {
      check("status", () => assert.equal(e.status, "received"));
      check("subject", () => assert.equal(e.subject, `good message ${c.label.slice(5)}`));
      continue;
    }
    if (e.status === "quarantined") {
      check("error", () => assert.ok(QUARANTINE_CODES.has(e.error?.code), `error ${JSON.stringify(e.error)}`));
    } else if (e.status === "received") {
      check("error", () => assert.equal(e.error, null));
      if (c.capped) check("capped", () => c.capped!(e));
    } else {
      problems.push(`${c.label}: status ${e.status}`);
    }
  }
  const oversize = found.get("oversize-4mib");
  if (oversize?.status === "quarantined" && oversize.error?.code !== "MESSAGE_TOO_LARGE") problems.push(`oversize-4mib: quarantined as ${oversize.error?.code}, not MESSAGE_TOO_LARGE`);
  const good0 = found.get("good-0");
  const reused = found.get("reused-message-id");
  if (good0 && reused && good0.id === reused.id) problems.push("reused-message-id: joined to good-0's activity");

  const mb = (await app.call("GET", `/api/mailboxes/${mid}`)).body;
  if (mb.enabledForIncoming !== true) problems.push("mailbox: no longer enabled for incoming");
  if (mb.incomingStatus !== "success") problems.push(`mailbox: incomingStatus ${mb.incomingStatus}`);
  if (mb.lastError !== null) problems.push(`mailbox: lastError ${JSON.stringify(mb.lastError)}`);
  const quarantined = [...found.values()].filter((e) => e.status === "quarantined").length;
  if (mb.stats?.quarantined !== quarantined) problems.push(`mailbox: stats.quarantined ${mb.stats?.quarantined}, ${quarantined} of ours quarantined`);

  t.diagnostic(`outcomes ${JSON.stringify(outcome, null, 1)}`);
  assert.deepEqual(problems, [], `outcomes ${JSON.stringify(outcome, null, 1)}`);
});
