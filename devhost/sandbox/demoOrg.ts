/**
 * @module The demo org seeded on first start with the sandbox on: a profile pointing at the
 * sandbox, user mailboxes for alice and bob and a queue mailbox for support, approved and enabled.
 * Everything goes through the app's own HTTP API, as an admin would do it: passwords end in the
 * secret store the app is configured with, approval needs the master key, and "enabled" is what a
 * real Test & Enable job found, not a status written by hand. Storage that already holds a profile
 * or a mailbox is left alone, so a restart against persistent storage seeds nothing twice.
 */
import type { Sandbox } from "./sandbox.js";
import { SANDBOX_USERS } from "./sandbox.js";

export interface DemoOrg {
  profileId: string;
  mailboxes: { alice: string; bob: string; support: string };
}

export type SeedResult =
  | { seeded: true; org: DemoOrg }
  | { seeded: false; reason: string };

export interface SeedOptions {
  apiUrl: string;
  adminKey: string;
  masterKey: string;
  sandbox: Pick<Sandbox, "host" | "smtpPort" | "pop3Port">;
  /** How long to wait for Test & Enable. */
  timeoutMs?: number;
}

export class SeedError extends Error {}

async function call(options: SeedOptions, method: string, path: string, body?: unknown, master = false): Promise<Record<string, unknown>> {
  const res = await fetch(`${options.apiUrl}/${path}`, {
    method,
    headers: { "x-functions-key": master ? options.masterKey : options.adminKey, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new SeedError(`${method} /${path} answered ${res.status}: ${text.slice(0, 500)}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

const idOf = (entity: Record<string, unknown>): string => String(entity.id);

export async function seedDemoOrg(options: SeedOptions): Promise<SeedResult> {
  const profiles = await call(options, "GET", "profiles?top=1");
  const mailboxes = await call(options, "GET", "mailboxes?top=1");
  if ((profiles.items as unknown[]).length > 0 || (mailboxes.items as unknown[]).length > 0) {
    return { seeded: false, reason: "storage already holds profiles or mailboxes" };
  }
  const { host, pop3Port, smtpPort } = options.sandbox;
  const profile = await call(options, "POST", "profiles", {
    name: "Mail sandbox (local)",
    description: "The dev host's embedded POP3/SMTP sandbox; seeded by npm start.",
    // Without SSL the app upgrades with STLS / STARTTLS and sends no credentials before that.
    incoming: { host, port: pop3Port, useSsl: false },
    outgoing: { host, port: smtpPort, useSsl: false },
    // Poll at every scheduler tick, so mail shows up within one period.
    minPollingIntervalMinutes: 0,
  });
  const profileId = idOf(profile);
  const mailbox = async (owner: Record<string, string>, user: { address: string; password: string }): Promise<string> =>
    idOf(await call(options, "POST", "mailboxes", {
      owner, emailAddress: user.address, profileId,
      credentials: { userName: user.address, password: user.password },
    }));
  const org: DemoOrg = {
    profileId,
    mailboxes: {
      alice: await mailbox({ type: "user", id: "demo-alice", name: "Alice (demo)" }, SANDBOX_USERS.alice),
      bob: await mailbox({ type: "user", id: "demo-bob", name: "Bob (demo)" }, SANDBOX_USERS.bob),
      support: await mailbox({ type: "queue", id: "demo-support", name: "Support (demo queue)" }, SANDBOX_USERS.support),
    },
  };
  for (const id of Object.values(org.mailboxes)) await call(options, "POST", `mailboxes/${id}/approve`, undefined, true);
  await testAndEnable(options, profileId);
  return { seeded: true, org };
}

/** Runs the profile's Test & Enable job and waits for it; any mailbox that failed a direction fails the seed. */
async function testAndEnable(options: SeedOptions, profileId: string): Promise<void> {
  const { jobId } = await call(options, "POST", `profiles/${profileId}/test-and-enable`);
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    const job = await call(options, "GET", `jobs/${String(jobId)}`);
    if (job.status === "succeeded" || job.status === "failed") {
      const results = (job.results ?? []) as Array<{ mailboxId: string; incomingStatus: string; outgoingStatus: string; error: { code: string; message: string } | null }>;
      const bad = results.filter((r) => r.incomingStatus !== "success" || r.outgoingStatus !== "success");
      if (job.status === "failed" || bad.length > 0) {
        throw new SeedError(`Test & Enable of the demo mailboxes did not pass: ${JSON.stringify(bad.length > 0 ? bad : job)}`);
      }
      return;
    }
    if (Date.now() > deadline) throw new SeedError(`Test & Enable of the demo mailboxes did not finish in ${options.timeoutMs ?? 60_000} ms (job ${String(jobId)} is ${String(job.status)}).`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
