/**
 * The outgoing tests' app: Azurite + the dev host with the send routes, a manual clock, and
 * helpers that create a profile and an approved, outgoing-enabled mailbox pointing at a test SMTP
 * server (Test & Enable is another function's job; the tests set its result directly).
 */
import { ManualClock } from "../../../shared/runtime/clock.js";
import { definitions } from "../../../functions/definitions.js";
import { emailSendRoutes } from "../../../functions/emailsSend.js";
import { mailboxOutgoingFunction } from "../../../functions/mailboxOutgoing.js";
import type { EmailActivity } from "../../../shared/domain/email.js";
import { MASTER_KEY, startTestApp, type TestApp } from "../../support/app.js";

export interface OutgoingApp {
  app: TestApp;
  clock: ManualClock;
}

/**
 * `queueFunction`: also run `mailboxOutgoing` on the dev host's queue poller. Off by default, so a
 * test that calls sendMailbox itself is not raced by the poller.
 */
export async function startOutgoingApp(opts: { queueFunction?: boolean } = {}): Promise<OutgoingApp> {
  const clock = new ManualClock("2026-11-22T10:00:00.000Z");
  const mine = new Set([...emailSendRoutes.map((r) => r.name), mailboxOutgoingFunction.name]);
  const defs = [...definitions.filter((d) => !mine.has(d.name)), ...emailSendRoutes, ...(opts.queueFunction ? [mailboxOutgoingFunction] : [])];
  const app = await startTestApp({ overrides: { clock }, definitions: defs });
  return { app, clock };
}

let seq = 0;

export interface MailboxSetup {
  port: number;
  useSsl: boolean;
  authProtocol?: "auto" | "plain" | "login";
  userName?: string;
  password?: string;
  profile?: Record<string, unknown>;
  ownerName?: string;
}

/** A profile and an approved mailbox enabled for outgoing; returns their ids and address. */
export async function createSender(app: TestApp, s: MailboxSetup): Promise<{ mailboxId: string; profileId: string; address: string }> {
  const n = ++seq;
  const profile = await app.call("POST", "/api/profiles", {
    body: {
      name: `SMTP test ${n}`,
      incoming: { host: "127.0.0.1", port: 1, useSsl: true },
      outgoing: { host: "127.0.0.1", port: s.port, useSsl: s.useSsl, authProtocol: s.authProtocol ?? "auto" },
      allowUntrustedCertificates: true,
      ...s.profile,
    },
  });
  if (profile.status !== 201) throw new Error(`profile: ${profile.text}`);
  const address = `sender${n}@contoso.test`;
  const mailbox = await app.call("POST", "/api/mailboxes", {
    body: {
      owner: { type: "user", id: `u-${n}`, name: s.ownerName ?? `Sender ${n}` }, emailAddress: address, profileId: profile.body.id,
      credentials: { userName: s.userName ?? "alice", password: s.password ?? "alice-pw" },
    },
  });
  if (mailbox.status !== 201) throw new Error(`mailbox: ${mailbox.text}`);
  const id: string = mailbox.body.id;
  const approved = await app.call("POST", `/api/mailboxes/${id}/approve`, { key: MASTER_KEY });
  if (approved.status !== 200) throw new Error(`approve: ${approved.text}`);
  await app.services.repos.mailboxes.update(id, (m) => ({ ...m, outgoing: { ...m.outgoing, enabled: true } }));
  return { mailboxId: id, profileId: profile.body.id, address };
}

export async function postEmail(app: TestApp, body: Record<string, unknown>): Promise<EmailActivity & { etag: string }> {
  const res = await app.call("POST", "/api/emails", { body: { subject: "Quote request", text: "Hello Bob", ...body } });
  if (res.status !== 201) throw new Error(`POST /api/emails: ${res.status} ${res.text}`);
  return res.body;
}

export async function emailOf(app: TestApp, id: string): Promise<EmailActivity> {
  return (await app.services.emails.require(id)).doc;
}

export async function alertsFor(app: TestApp, mailboxId: string): Promise<Array<{ level: string; code: string; emailId: string | null; message: string }>> {
  const res = await app.call("GET", `/api/alerts?mailboxId=${mailboxId}`);
  return res.body.items;
}
