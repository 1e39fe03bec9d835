/**
 * @module The send side: a fresh mailbox whose SMTP server (the real smtp-server, behind the
 * command-counting proxy) records what it received, three queued emails (one with to, cc and
 * bcc), one send run in a child cut off at a crash point, then clean runs in the parent until
 * nothing is due, then the invariants of decision 0004.
 */
import { randomUUID } from "node:crypto";
import { createProfile } from "../../shared/admin/profiles.js";
import { createMailbox } from "../../shared/admin/mailboxes.js";
import { emailCreate } from "../../shared/domain/email.js";
import { createOutgoingEmail } from "../../shared/sync/outgoing/createEmail.js";
import { sendMailbox } from "../../shared/sync/outgoing/sendMailbox.js";
import { ScriptedSmtpServer } from "../../test/outgoing/support/smtpServer.js";
import type { CrashEnv } from "./env.js";
import type { CrashPoint } from "./points.js";
import type { StorageMode } from "./storageProxy.js";
import { messageIdOf, SmtpCrashProxy, type ProtocolMode } from "./smtpProxy.js";
import type { PointReport, Problem } from "./fetchScenario.js";

const EMAILS = [
  { to: ["bob@fabrikam.test"], subject: "First", text: "one\r\n.leading dot\r\n" },
  { to: ["carol@fabrikam.test"], cc: ["dan@fabrikam.test"], bcc: ["erin@fabrikam.test"], subject: "Second", text: "two" },
  { to: ["frank@fabrikam.test"], subject: "Third", html: "<p>three</p>" },
];

export async function runSendPoint(env: CrashEnv, point: CrashPoint | undefined): Promise<PointReport> {
  const { services } = env;
  const tag = randomUUID().slice(0, 8);
  const smtp = await ScriptedSmtpServer.start({ tls: "none", users: { alice: "alice-pw" } });
  const proxy = await SmtpCrashProxy.start(smtp.port);
  try {
    const profile = await createProfile(services, {
      name: `Crash send ${tag}`, incoming: { host: "127.0.0.1", port: 1, useSsl: false },
      outgoing: { host: "127.0.0.1", port: proxy.port, useSsl: false, authProtocol: "auto" }, allowCredentialsOverInsecureChannels: true,
    });
    const created = await createMailbox(services, {
      owner: { type: "user", id: `u-${tag}`, name: "Crash Sender" }, emailAddress: `sender-${tag}@contoso.test`, profileId: profile.doc.id,
      credentials: { userName: "alice", password: "alice-pw" },
    });
    const mailboxId = created.doc.id;
    await services.repos.mailboxes.update(mailboxId, (m) => ({ ...m, approval: "approved", outgoing: { ...m.outgoing, enabled: true, status: "success" } }));
    const ids: string[] = [];
    for (const e of EMAILS) ids.push((await createOutgoingEmail(services, emailCreate.parse({ mailboxId, ...e }))).saved.doc.id);

    const child = await env.pool.take();
    const outcome = await child.run({ run: "send", mailboxId }, () => {
      child.proxies.arm(point?.layer === "storage" ? { at: point.at, mode: point.mode as StorageMode } : undefined);
      proxy.arm(point?.layer === "smtp" ? { at: point.at, mode: point.mode as ProtocolMode } : undefined, () => child.process.kill("SIGKILL"));
    });
    proxy.disarm();

    const problems: Problem[] = [];
    if (outcome.error?.startsWith("hung")) problems.push({ invariant: "child-hung", detail: outcome.error });
    // Committed (`sending`) when the run died: decision 0004's window, where "outcome unknown" is the honest answer.
    const committed = new Set<string>();
    for (const id of ids) {
      const e = (await env.services.emails.require(id)).doc;
      if (e.status === "sending") committed.add(e.messageId);
    }
    problems.push(...await cleanRuns(env, mailboxId));
    problems.push(...await check(env, smtp, proxy, mailboxId, ids, committed));
    return {
      storageRequests: child.proxies.requests, protocolCommands: proxy.commands, fired: proxy.fired ?? child.proxies.fired,
      childResult: outcome.killed ? "killed" : outcome.result ?? outcome.error, problems,
    };
  } finally {
    await proxy.close();
    await smtp.close();
  }
}

async function cleanRuns(env: CrashEnv, mailboxId: string): Promise<Problem[]> {
  const results: string[] = [];
  for (let i = 0; i < 4; i++) {
    const r = await sendMailbox(env.services, mailboxId);
    results.push(r);
    if (r === "nothingDue") return [];
    if (r !== "done") break;
  }
  return [{ invariant: "clean-send-not-done", detail: `clean runs: ${results.join(", ")}` }];
}

async function check(env: CrashEnv, smtp: ScriptedSmtpServer, proxy: SmtpCrashProxy, mailboxId: string, ids: string[], committed: Set<string>): Promise<Problem[]> {
  const problems: Problem[] = [];
  const received = smtp.received.map((r) => ({ id: messageIdOf(r.bytes), accepted: r.accepted }));
  let sent = 0;
  for (const id of ids) {
    const e = (await env.services.emails.require(id)).doc;
    const copies = received.filter((r) => r.id === e.messageId);
    if (copies.length > 1) problems.push({ invariant: "sent-twice", detail: `${e.messageId} reached the SMTP server ${copies.length} times (email ${e.status})` });
    if (e.status === "sent") {
      sent++;
      if (copies.length === 0) problems.push({ invariant: "sent-not-received", detail: `${e.messageId} is sent but the server never got its end of data` });
    } else if (e.status === "failed" && e.error?.code === "SEND_OUTCOME_UNKNOWN") {
      // Allowed only once the commit landed (the email was `sending` when the run died): before
      // the commit nothing may go out, so "unknown" there would be a lie.
      if (!proxy.markersWritten.has(e.messageId) && !committed.has(e.messageId)) {
        problems.push({ invariant: "unknown-before-commit", detail: `${e.messageId} failed SEND_OUTCOME_UNKNOWN, but the crashed run had neither committed it nor written its end of data (${copies.length} copies received)` });
      }
    } else {
      problems.push({ invariant: "email-not-final", detail: `${e.messageId} ends ${e.status}${e.error ? ` (${e.error.code})` : ""}, ${copies.length} copies received` });
    }
  }
  const mailbox = (await env.services.repos.mailboxes.require(mailboxId)).doc;
  if (!mailbox.outgoing.enabled) problems.push({ invariant: "disabled", detail: `outgoing disabled: ${JSON.stringify(mailbox.outgoing.lastError)}` });
  if (mailbox.stats.sent !== sent) problems.push({ invariant: "stats-sent", detail: `stats.sent ${mailbox.stats.sent}, but ${sent} emails are sent` });
  return problems;
}
