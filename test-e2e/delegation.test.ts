/**
 * Delegation end to end against Dovecot (issue 11, point 2): one profile logs in with the service
 * account svc, a Dovecot master user (scripts/e2e/setup.sh), for two mailboxes, frank and grace.
 * With `saslAuthzid` (SASL PLAIN, authzid = the mailbox's login) and with `loginSeparator`
 * ("frank*svc"), Test & Enable passes and each mailbox's activities hold only its own mail; svc's
 * own maildrop is never read. A message frank sends reaches grace's Maildir through Postfix, sent
 * as frank@e2e.test with svc's login (Postfix lets svc send as frank: reject_sender_login_mismatch);
 * it is no new activity for grace, as the same Message-ID is one activity (API.md).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pollMailbox } from "../shared/sync/incoming/pollMailbox.js";
import { sendMailbox } from "../shared/sync/outgoing/sendMailbox.js";
import { MASTER_KEY, startTestApp, type TestApp } from "../test/support/app.js";
import { testAndEnable } from "../test/support/mailboxes.js";
import { waitFor } from "../test/support/waitFor.js";
import { deliverToMaildir, emptyMaildir, mailServers, waitForDelivery, type MailServers } from "./support/mailServers.js";

let app: TestApp;
let servers: MailServers;
/** The master user from e2e.env: svc and its password. */
let svc = { userName: "", password: "" };
let run = 0;

const msg = (id: string): string => `Message-ID: <${id}@e2e.test>\nFrom: x@fabrikam.test\nSubject: ${id}\n\nbody of ${id}\n`;

before(async () => {
  servers = mailServers();
  const env = readFileSync(join(process.env.E2E_STATE_DIR ?? "/var/lib/email-sync-e2e", "e2e.env"), "utf8");
  const master = /^E2E_MASTER_USER=(.*):(.*)$/m.exec(env);
  if (!master) throw new Error("e2e.env has no E2E_MASTER_USER: run scripts/e2e/setup.sh again");
  svc = { userName: master[1]!, password: master[2]! };
  app = await startTestApp();
  run = Date.now();
  for (const user of ["frank", "grace", svc.userName]) emptyMaildir(servers, user);
  deliverToMaildir(servers, svc.userName, "svc-own", msg(`svc-own-${run}`));
});
after(async () => { await app?.stop(); });

async function profile(name: string, delegation: string): Promise<string> {
  const p = await app.call("POST", "/api/profiles", {
    body: {
      name, incoming: { host: servers.host, port: servers.pop3sPort, useSsl: true, delegation },
      outgoing: { host: servers.host, port: servers.submissionPort, useSsl: false },
      authenticateUsing: "profileCredentials", credentials: svc, minPollingIntervalMinutes: 0,
    },
  });
  assert.equal(p.status, 201, p.text);
  return p.body.id;
}

/** frank logs in as "frank" (his credentials' user name, no password); grace as her address. */
async function mailbox(profileId: string, user: "frank" | "grace"): Promise<string> {
  const m = await app.call("POST", "/api/mailboxes", {
    body: {
      owner: { type: "user", id: `u-${user}-${profileId}` }, emailAddress: `${user}@${servers.domain}`, profileId, incomingFilter: "all",
      ...(user === "frank" ? { credentials: { userName: "frank" } } : {}),
    },
  });
  assert.equal(m.status, 201, m.text);
  assert.equal((await app.call("POST", `/api/mailboxes/${m.body.id}/approve`, { key: MASTER_KEY })).status, 200);
  return m.body.id;
}

async function incomingSubjects(mailboxId: string): Promise<string[]> {
  const items: any[] = (await app.call("GET", `/api/emails?mailboxId=${mailboxId}&top=1000`)).body.items;
  return items.filter((e) => e.direction === "incoming").map((e) => e.subject as string).sort();
}

/** Polls until the mailbox holds `expected` (a queued poll may hold the lease for a moment). */
async function pollUntil(mailboxId: string, expected: string[]): Promise<void> {
  await waitFor(`mail ${expected.join(", ")}`, async () => {
    await pollMailbox(app.services, mailboxId);
    const got = await incomingSubjects(mailboxId);
    return expected.every((s) => got.includes(s)) ? got : undefined;
  });
  assert.deepEqual(await incomingSubjects(mailboxId), [...expected].sort(), "exactly its own mail");
}

/** svc's own message is still where it was delivered (the exact subject lists show no mailbox filed it). */
function svcMaildropUntouched(): void {
  const files = ["new", "cur"].flatMap((sub) => {
    const dir = join(servers.mailRoot, svc.userName, "Maildir", sub);
    return existsSync(dir) ? readdirSync(dir).map((f) => readFileSync(join(dir, f), "latin1")) : [];
  });
  assert.ok(files.some((f) => f.includes(`svc-own-${run}`)), "svc's own message is gone");
}

async function enable(ids: string[]): Promise<void> {
  for (const id of ids) {
    const job = await testAndEnable(app, id);
    assert.equal(job.results[0].error, null, JSON.stringify(job.results[0]));
    assert.deepEqual([job.results[0].incomingStatus, job.results[0].outgoingStatus], ["success", "success"]);
  }
}

describe("delegation against Dovecot master users", () => {
  let pid = "";
  let frank = "";
  let grace = "";

  /** Mail for each in its Maildir, and one message frank sends grace through Postfix, logged in as svc. */
  async function mailBoth(tag: string): Promise<void> {
    deliverToMaildir(servers, "frank", `f-${tag}`, msg(`frank-${tag}`));
    deliverToMaildir(servers, "grace", `g-${tag}`, msg(`grace-${tag}`));
    const posted = await app.call("POST", "/api/emails", { body: { mailboxId: frank, to: [`grace@${servers.domain}`], subject: `from-frank-${tag}`, text: "hi grace" } });
    assert.equal(posted.status, 201, posted.text);
    const result = await sendMailbox(app.services, frank, { smtp: { ca: servers.ca } });
    assert.ok(result === "done" || result === "nothingDue", `send run: ${result}`); // "nothingDue": the queue's run sent it first
    // Postfix takes frank's address from a login as svc only because svc may send as frank.
    const delivered = (await waitForDelivery(servers, "grace", posted.body.messageId)).toString("latin1");
    assert.match(delivered, /^Return-Path: <frank@e2e\.test>/m, "the envelope sender is frank's address");
    assert.match(delivered, /^From: .*frank@e2e\.test/m);
  }

  test("saslAuthzid: two mailboxes of one profile each file only their own mail; frank sends to grace as himself", async () => {
    pid = await profile(`Delegated ${run}`, "saslAuthzid");
    [frank, grace] = [await mailbox(pid, "frank"), await mailbox(pid, "grace")];
    await enable([frank, grace]);
    const tag = `authzid-${run}`;
    await mailBoth(tag);
    await pollUntil(frank, [`frank-${tag}`]);
    // frank's message to grace is already an activity (frank's sent email): one Message-ID, one activity.
    await pollUntil(grace, [`grace-${tag}`]);
    svcMaildropUntouched();
  });

  test("loginSeparator (frank*svc): the same, after the change sent both mailboxes back to Test & Enable", async () => {
    assert.ok(pid, "runs after the saslAuthzid test");
    const changed = await app.call("PATCH", `/api/profiles/${pid}`, { body: { incoming: { delegation: "loginSeparator" }, credentials: svc } });
    assert.equal(changed.status, 200, changed.text);
    for (const id of [frank, grace]) assert.equal((await app.call("GET", `/api/mailboxes/${id}`)).body.incomingStatus, "notRun");
    await enable([frank, grace]);
    const tag = `separator-${run}`;
    await mailBoth(tag);
    await pollUntil(frank, [`frank-authzid-${run}`, `frank-${tag}`]);
    await pollUntil(grace, [`grace-authzid-${run}`, `grace-${tag}`]);
    svcMaildropUntouched();
  });
});
