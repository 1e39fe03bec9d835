/**
 * Test helpers: a profile pointing at a test POP3 server and a mailbox on it, approved and enabled
 * as a passed Test & Enable would leave it.
 */
import assert from "node:assert/strict";
import type { TestApp } from "./app.js";
import { waitFor } from "./waitFor.js";
import { MASTER_KEY } from "./app.js";

export interface MailboxSetup {
  profileId: string;
  mailboxId: string;
}

export async function enabledMailbox(app: TestApp, opts: {
  port: number; address: string; ownerType?: "user" | "queue"; ownerId?: string; password?: string; userName?: string;
  profile?: Record<string, unknown>; mailbox?: Record<string, unknown>; profileId?: string; smtpPort?: number;
}): Promise<MailboxSetup> {
  let profileId = opts.profileId;
  if (!profileId) {
    const p = await app.call("POST", "/api/profiles", {
      body: {
        name: `Profile for ${opts.address}`,
        incoming: { host: "127.0.0.1", port: opts.port, useSsl: false },
        outgoing: { host: "127.0.0.1", port: opts.smtpPort ?? 2525, useSsl: false },
        allowCredentialsOverInsecureChannels: true,
        minPollingIntervalMinutes: 0,
        ...opts.profile,
      },
    });
    if (p.status !== 201) throw new Error(`profile: ${p.text}`);
    profileId = p.body.id as string;
  }
  const m = await app.call("POST", "/api/mailboxes", {
    body: {
      owner: { type: opts.ownerType ?? "queue", id: opts.ownerId ?? `owner-${opts.address}` },
      emailAddress: opts.address, profileId,
      credentials: { userName: opts.userName ?? "alice", password: opts.password ?? "s3cret-Pa55" },
      incomingFilter: "all",
      ...opts.mailbox,
    },
  });
  if (m.status !== 201) throw new Error(`mailbox: ${m.text}`);
  const mailboxId = m.body.id as string;
  await app.call("POST", `/api/mailboxes/${mailboxId}/approve`, { key: MASTER_KEY });
  await app.services.repos.mailboxes.update(mailboxId, (x) => ({ ...x, incoming: { ...x.incoming, enabled: true, status: "success" }, outgoing: { ...x.outgoing, enabled: true, status: "success" } }));
  return { profileId, mailboxId };
}

/** Runs Test & Enable on a mailbox and waits for its job to end (succeeded or failed). */
export async function testAndEnable(app: TestApp, mailboxId: string, timeoutMs?: number): Promise<any> {
  const started = await app.call("POST", `/api/mailboxes/${mailboxId}/test-and-enable`);
  assert.equal(started.status, 202, started.text);
  return waitFor("the Test & Enable job", async () => {
    const job = (await app.call("GET", `/api/jobs/${started.body.jobId}`)).body;
    return job.status === "succeeded" || job.status === "failed" ? job : undefined;
  }, timeoutMs);
}
