/**
 * @module The connection test of Test & Enable: log in to POP3 and run STAT; connect to SMTP
 * (EHLO, STARTTLS where due, AUTH) and QUIT without sending mail. Each direction is tested only
 * when the mailbox uses server-side sync for it.
 */
import { performance } from "node:perf_hooks";
import { Pop3Session, type Pop3ConnectOptions } from "../pop3/index.js";
import { openSmtpSession } from "../smtp/session.js";
import { smtpEndpointOf } from "../smtp/options.js";
import type { SmtpClientOptions } from "../smtp/options.js";
import { toAppError, type AppError } from "../errors.js";
import type { Mailbox } from "../domain/mailbox.js";
import type { Profile } from "../domain/profile.js";
import type { Services } from "../runtime/services.js";
import { logIn, pop3OptionsOf, scrubSecrets, type LoginCredentials } from "../sync/connectionCredentials.js";

export type DirectionResult = { tested: false } | { tested: true; error: AppError | null };

export interface ConnectionTestResult {
  incoming: DirectionResult;
  outgoing: DirectionResult;
}

export interface ConnectionTestOptions {
  pop3?: Partial<Pop3ConnectOptions>;
  smtp?: SmtpClientOptions;
}

/**
 * Each direction's test, token request and login included, ends this long after it starts,
 * whatever the server does (a drip-fed reply included). The two run one after the other under one
 * connection slot leased for 2 minutes (testJobs.ts), so 2 x 45 s leaves room for the rest.
 */
export const CONNECTION_TEST_DEADLINE_MS = 45_000;

/** What is left of a direction's deadline when a login starts (logIn may log in twice). */
const left = (ends: number): number => Math.max(1, ends - performance.now());

export const testsIncoming = (m: Mailbox): boolean => m.incomingMethod === "serverSideSync";
export const testsOutgoing = (m: Mailbox): boolean => m.outgoingMethod === "serverSideSync" && !m.isForwardMailbox;

/** Runs one direction's test; its error never quotes the credentials it logged in with. */
async function attempt(run: (use: (creds: LoginCredentials) => LoginCredentials) => Promise<void>): Promise<DirectionResult> {
  let used: LoginCredentials | undefined;
  try {
    await run((creds) => (used = creds));
    return { tested: true, error: null };
  } catch (err) {
    return { tested: true, error: used ? scrubSecrets(err, used) : toAppError(err) };
  }
}

export async function testConnections(services: Services, profile: Profile, mailbox: Mailbox, opts: ConnectionTestOptions = {}): Promise<ConnectionTestResult> {
  const incoming: DirectionResult = !testsIncoming(mailbox) ? { tested: false } : await attempt(async (use) => {
    const ends = performance.now() + CONNECTION_TEST_DEADLINE_MS;
    const session = await logIn(services, profile, mailbox, "incoming", (creds) => Pop3Session.connect({
      ...pop3OptionsOf(profile, use(creds)), connectTimeoutMs: 15_000, greetingTimeoutMs: 15_000, idleTimeoutMs: 30_000, deadlineMs: left(ends), ...opts.pop3,
    }), { fresh: true });
    try {
      await session.stat();
    } finally {
      // QUIT after a test commits nothing: no DELE was sent.
      await session.quit().catch(() => session.close());
    }
  });
  const outgoing: DirectionResult = !testsOutgoing(mailbox) ? { tested: false } : await attempt(async (use) => {
    const ends = performance.now() + CONNECTION_TEST_DEADLINE_MS;
    const session = await logIn(services, profile, mailbox, "outgoing",
      (creds) => openSmtpSession(smtpEndpointOf(profile), use(creds), { connectTimeoutMs: 15_000, greetingTimeoutMs: 15_000, deadlineMs: left(ends), ...opts.smtp }),
      { fresh: true });
    session.quit();
  });
  return { incoming, outgoing };
}
