/**
 * @module The fetch side: a fresh queue mailbox on a fresh test POP3 server with a small corpus
 * (dot lines, 8-bit bytes, a message without Message-ID), one poll in a child cut off at a crash
 * point, then clean polls in the parent until nothing is left, then the invariants of decision
 * 0005. Two variants: keeping mail on the server (no pipelining), and deleting it after
 * processing (PIPELINING advertised, so RETRs and DELEs go out in batches).
 */
import { createHash, randomUUID } from "node:crypto";
import { createProfile } from "../../shared/admin/profiles.js";
import { createMailbox } from "../../shared/admin/mailboxes.js";
import { pollMailbox } from "../../shared/sync/incoming/pollMailbox.js";
import { syntheticMessageId, type EmailActivity } from "../../shared/domain/email.js";
import { emailLookup } from "../../shared/storage/emailStore.js";
import { Pop3TestServer } from "../../test/support/pop3-server.js";
import type { CrashEnv } from "./env.js";
import type { CrashPoint } from "./points.js";
import type { StorageMode } from "./storageProxy.js";
import type { ProtocolPlan } from "./smtpProxy.js";

export const sha256 = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

export interface Problem {
  /** A short name, to group crash points by the invariant they break. */
  invariant: string;
  detail: string;
}

export interface PointReport {
  storageRequests: string[];
  protocolCommands: string[];
  fired: string | undefined;
  childResult: unknown;
  problems: Problem[];
}

interface CorpusMessage {
  body: Buffer;
  messageId: string;
}

function corpus(tag: string): CorpusMessage[] {
  const head = (n: number, extra = ""): string =>
    `From: Bob <bob@fabrikam.test>\r\nTo: support@contoso.test\r\nSubject: crash ${tag} ${n}\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\n${extra}`;
  const bodies = [
    Buffer.from(`${head(1, `Message-ID: <a-${tag}@crash.test>\r\n`)}\r\nplain body\r\n`),
    Buffer.concat([
      Buffer.from(`${head(2, `Message-ID: <b-${tag}@crash.test>\r\nContent-Type: text/plain; charset=ISO-8859-1\r\n`)}\r\n.leading dot\r\n..two dots\r\n.\r\ncaf`),
      Buffer.from([0xe9, 0x0d, 0x0a]),
    ]),
    Buffer.from(`${head(3)}\r\nno Message-ID here ${tag}\r\n`),
    Buffer.from(`${head(4, `Message-ID: <d-${tag}@crash.test>\r\n`)}\r\n${"line of a longer message\r\n".repeat(400)}`),
  ];
  return bodies.map((body) => {
    const id = /^Message-ID: (<[^>]+>)/m.exec(body.toString("latin1"))?.[1];
    return { body, messageId: id ?? syntheticMessageId(sha256(body)) };
  });
}

export interface FetchSetup {
  mailboxId: string;
  pop3: Pop3TestServer;
  messages: CorpusMessage[];
  /** Replaced per run: what the POP3 server does with each command line. */
  onCommand: (line: string) => "drop" | void;
}

export async function setUpFetch(env: CrashEnv, deleting: boolean): Promise<FetchSetup> {
  const tag = randomUUID().slice(0, 8);
  const messages = corpus(tag);
  const setup: FetchSetup = { mailboxId: "", pop3: undefined as unknown as Pop3TestServer, messages, onCommand: () => undefined };
  setup.pop3 = await Pop3TestServer.start({ messages: messages.map((m) => m.body), pipelining: deleting, onCommand: (line) => setup.onCommand(line) });
  const { services } = env;
  const profile = await createProfile(services, {
    name: `Crash ${tag}`, incoming: { host: "127.0.0.1", port: setup.pop3.port, useSsl: false }, outgoing: { host: "127.0.0.1", port: 1, useSsl: false },
    allowCredentialsOverInsecureChannels: true, minPollingIntervalMinutes: 0,
  });
  const created = await createMailbox(services, {
    owner: { type: "queue", id: `q-${tag}` }, emailAddress: `support-${tag}@contoso.test`, profileId: profile.doc.id,
    credentials: { userName: "alice", password: "s3cret-Pa55" }, incomingFilter: "all", deleteEmailsAfterProcessing: deleting,
  });
  await services.repos.mailboxes.update(created.doc.id, (m) => ({ ...m, approval: "approved", incoming: { ...m.incoming, enabled: true, status: "success" } }));
  setup.mailboxId = created.doc.id;
  return setup;
}

/** The mailbox's activities: those it created and those it joined. */
export async function activitiesOf(env: CrashEnv, mailboxId: string): Promise<EmailActivity[]> {
  const { ids } = await env.services.emails.lookupPage(emailLookup.mailbox(mailboxId), 1000);
  const docs = await Promise.all(ids.map((id) => env.services.emails.get(id)));
  return docs.flatMap((d) => (d ? [d.doc] : []));
}

/** An activity's raw bytes where they are kept: its sidecar row (decision 0029) or its blob. */
async function rawBytesOf(env: CrashEnv, a: EmailActivity): Promise<Buffer | undefined> {
  if (a.rawInline) return env.services.emails.readSidecar(a.id).catch(() => undefined);
  return a.rawBlob ? env.services.raw.downloadBuffer(a.rawBlob).catch(() => undefined) : undefined;
}

/** Every message gone from the server has exactly one activity with its exact bytes. */
async function deletedWithoutActivity(env: CrashEnv, s: FetchSetup, when: string): Promise<Problem[]> {
  const onServer = new Set(s.pop3.maildrop.map((m) => sha256(m.body)));
  const activities = await activitiesOf(env, s.mailboxId);
  const problems: Problem[] = [];
  for (const m of s.messages) {
    if (onServer.has(sha256(m.body))) continue;
    const a = activities.find((x) => x.messageId === m.messageId);
    const raw = a ? await rawBytesOf(env, a) : undefined;
    if (!raw || !raw.equals(m.body)) {
      problems.push({ invariant: "deleted-without-activity", detail: `${when}: ${m.messageId} is gone from the POP3 server ${a ? "and its activity's raw bytes differ or are missing" : "without an activity"}` });
    }
  }
  return problems;
}

export async function runFetchPoint(env: CrashEnv, deleting: boolean, point: CrashPoint | undefined): Promise<PointReport> {
  const s = await setUpFetch(env, deleting);
  const child = await env.pool.take();
  const commands: string[] = [];
  let armed = false;
  const pop3Plan: ProtocolPlan | undefined = point?.layer === "pop3" ? { at: point.at, mode: point.mode as ProtocolPlan["mode"] } : undefined;
  let fired: string | undefined;
  s.onCommand = (line) => {
    if (!armed) return;
    const n = commands.push(line.split(" ")[0]?.toUpperCase() ?? "");
    if (pop3Plan?.at !== n) return;
    armed = false;
    fired = `${pop3Plan.mode} at #${n}: ${line.startsWith("PASS") ? "PASS" : line}`;
    child.process.kill("SIGKILL");
    return pop3Plan.mode === "killBefore" ? "drop" : undefined;
  };
  const outcome = await child.run({ run: "poll", mailboxId: s.mailboxId }, () => {
    armed = true;
    child.proxies.arm(point?.layer === "storage" ? { at: point.at, mode: point.mode as StorageMode } : undefined);
  });
  armed = false;
  const problems: Problem[] = [];
  if (outcome.error?.startsWith("hung")) problems.push({ invariant: "child-hung", detail: outcome.error });
  try {
    problems.push(...await deletedWithoutActivity(env, s, "right after the crash"));
    problems.push(...await cleanUp(env, s));
    problems.push(...await deletedWithoutActivity(env, s, "after the clean polls"));
    problems.push(...await checkActivities(env, s, deleting));
  } finally {
    await s.pop3.close();
  }
  return {
    storageRequests: child.proxies.requests, protocolCommands: commands, fired: fired ?? child.proxies.fired,
    childResult: outcome.killed ? "killed" : outcome.result ?? outcome.error, problems,
  };
}

/** Clean polls until one fetches nothing; each must be done. */
async function cleanUp(env: CrashEnv, s: FetchSetup): Promise<Problem[]> {
  for (let i = 0; i < 4; i++) {
    const r = await pollMailbox(env.services, s.mailboxId);
    if (r.status !== "done") return [{ invariant: "clean-poll-not-done", detail: `clean poll ${i + 1}: ${JSON.stringify(r)}` }];
    if (r.fetched === 0 && !r.more) return [];
  }
  return [{ invariant: "clean-poll-not-done", detail: "4 clean polls still fetched messages" }];
}

async function checkActivities(env: CrashEnv, s: FetchSetup, deleting: boolean): Promise<Problem[]> {
  const problems: Problem[] = [];
  const activities = await activitiesOf(env, s.mailboxId);
  for (const m of s.messages) {
    const copies = activities.filter((a) => a.messageId === m.messageId || a.sha256 === sha256(m.body));
    if (copies.length === 0) problems.push({ invariant: "lost", detail: `${m.messageId} has no activity` });
    if (copies.length > 1) problems.push({ invariant: "duplicated", detail: `${m.messageId} has ${copies.length} activities` });
    for (const a of copies) {
      const raw = await rawBytesOf(env, a);
      if (!raw?.equals(m.body) || a.sha256 !== sha256(m.body)) problems.push({ invariant: "raw-not-exact", detail: `${m.messageId}: raw ${raw ? `${raw.length} bytes, not the ${m.body.length} stored` : "missing"}` });
    }
  }
  const strangers = activities.filter((a) => !s.messages.some((m) => m.messageId === a.messageId));
  if (strangers.length > 0) problems.push({ invariant: "duplicated", detail: `activities for no corpus message: ${strangers.map((a) => a.messageId).join(", ")}` });
  if (deleting && s.pop3.maildrop.length > 0) {
    problems.push({ invariant: "not-deleted", detail: `${s.pop3.maildrop.length} message(s) still on the server of a deleting mailbox after the clean polls` });
  }
  const mailbox = (await env.services.repos.mailboxes.require(s.mailboxId)).doc;
  if (!mailbox.incoming.enabled) problems.push({ invariant: "disabled", detail: `incoming disabled: ${JSON.stringify(mailbox.incoming.lastError)}` });
  const created = activities.filter((a) => a.mailboxId === s.mailboxId).length;
  const counted = mailbox.stats.received + mailbox.stats.quarantined;
  if (counted !== created) {
    problems.push({ invariant: "stats-incoming", detail: `stats.received ${mailbox.stats.received} + quarantined ${mailbox.stats.quarantined} = ${counted}, but the mailbox created ${created} activities` });
  }
  return problems;
}
