/**
 * @module One outgoing run for a mailbox (the `mailboxOutgoing` queue function): under the
 * mailbox's outgoing lease, settle sends a dead worker left in `sending`, then open one SMTP
 * session within the profile's connection limit and send the due emails over it, oldest first.
 * A failure to connect or log in is the mailbox's (recordFailure, the one error policy); a
 * failure of one message is that email's (sendOne). Safe to run twice or on two instances at
 * once: the lease admits one run, and each email's ETag admits one commit.
 */
import { performance } from "node:perf_hooks";
import { slotScope } from "../../coordination/connectionSlots.js";
import type { Services } from "../../runtime/services.js";
import { openSmtpSession, type SmtpSession } from "../../smtp/session.js";
import { classifySmtpError } from "../../smtp/classify.js";
import { smtpEndpointOf, type SmtpClientOptions } from "../../smtp/options.js";
import { recordFailure, recordSuccess, addMailboxStats, type StatsChange } from "../mailboxOutcome.js";
import { leaveIndexWhenIneligible } from "../leaveIndexWhenIneligible.js";
import { readOutgoingCounts, type OutgoingCounts } from "./outgoingCounters.js";
import { logIn, scrubSecrets, type LoginCredentials } from "../connectionCredentials.js";
import { isDue, listUnfinished, rescheduleMailbox } from "./pending.js";
import { settleUnknownOutcomes } from "./unknownOutcome.js";
import { sendOne } from "./sendOne.js";

/**
 * Outlasts the longest a worker can still be in one send after its last renewal (the 5-minute
 * reply wait of SMTP_TIMEOUTS), so a run that takes the lease over finds that worker gone.
 */
export const OUTGOING_LEASE_MS = 10 * 60_000;
export const OUTGOING_LEASE_PARTITION = "lease|outgoing";
/** A run stops taking new emails after this long, well inside the 10-minute function timeout. */
const RUN_BUDGET_MS = 4 * 60_000;
/**
 * The run's SMTP session ends this long after the run began, whatever the server does
 * (SmtpClientOptions.deadlineMs): two minutes inside host.json's 10-minute functionTimeout, left
 * for the Storage work around the session (settling, outcome writes, stats, releases), so the run
 * records what happened instead of being cut off by the host; and inside OUTGOING_LEASE_MS.
 */
const RUN_DEADLINE_MS = 8 * 60_000;
const MAX_PER_RUN = 100;
/** All connection slots taken: try again after this long. */
const SLOT_RETRY_MS = 60_000;

export type RunResult = "leaseHeld" | "notFound" | "ineligible" | "nothingDue" | "noSlot" | "connectionFailed" | "done";

export interface SendMailboxOptions {
  /** Test-only knobs of the SMTP client (a test CA, short timeouts). */
  smtp?: SmtpClientOptions;
}

export async function sendMailbox(services: Services, mailboxId: string, options: SendMailboxOptions = {}): Promise<RunResult> {
  const runEnds = performance.now() + RUN_DEADLINE_MS; // real time: services.clock may be a test's manual clock
  const lease = await services.leases.tryAcquire(OUTGOING_LEASE_PARTITION, mailboxId, OUTGOING_LEASE_MS);
  // The holder re-reads the pending sends when it ends (rescheduleMailbox), so this one is not lost.
  if (!lease) return "leaseHeld";
  try {
    const found = await services.repos.mailboxes.get(mailboxId);
    const { settings } = await services.settings.get();
    // The tick enqueues what the index says is due without reading it: the index learns here.
    const reason = await leaveIndexWhenIneligible(services, "outgoing", mailboxId, found?.doc, settings);
    if (!found) return "notFound";
    if (reason !== null) return "ineligible";
    const mailbox = found.doc;
    const started = services.clock.now();
    const profile = mailbox.profileId ? (await services.repos.profiles.get(mailbox.profileId))?.doc : undefined;
    if (!profile) return "ineligible";

    const unfinished = await listUnfinished(services, mailboxId);
    // The counters are exact (outgoingCounters.ts); the mailbox copies them whatever the run's end.
    const initialCounts: OutgoingCounts = { sent: mailbox.stats.sent, failed: mailbox.stats.failed };
    const delta = async (): Promise<StatsChange> => ({ exact: (await readOutgoingCounts(services, mailboxId, initialCounts)).counts });
    await settleUnknownOutcomes(services, mailbox, unfinished.filter((s) => s.doc.status === "sending"), initialCounts);
    const due = unfinished.filter((s) => s.doc.status === "pendingSend" && isDue(s.doc, started)).slice(0, MAX_PER_RUN);
    if (due.length === 0) {
      await addMailboxStats(services, mailboxId, await delta(), found);
      await rescheduleMailbox(services, mailboxId, false);
      return "nothingDue";
    }

    const slot = await services.slots.tryAcquire(`smtp|${slotScope(profile, mailboxId)}`, profile.maxConcurrentConnections, OUTGOING_LEASE_MS);
    if (!slot) {
      await addMailboxStats(services, mailboxId, await delta(), found);
      await services.due.schedule("outgoing", mailboxId, new Date(started.getTime() + SLOT_RETRY_MS));
      return "noSlot";
    }
    try {
      let session: SmtpSession;
      let used: LoginCredentials | undefined;
      try {
        // Measured when each login starts: a token request and a second login (logIn) come out of it.
        session = await logIn(services, profile, mailbox, "outgoing", (credentials) => openSmtpSession(smtpEndpointOf(profile), (used = credentials),
          { deadlineMs: Math.max(1, runEnds - performance.now()), ...options.smtp }));
      } catch (err) {
        await recordFailure(services, mailboxId, "outgoing", classifySmtpError(err), await delta(), found);
        return "connectionFailed";
      }
      const renew = async (): Promise<boolean> => (await lease.renew()) && (await slot.renew());
      let healthy = true;
      try {
        for (const stored of due) {
          if (!session.alive || services.clock.now().getTime() - started.getTime() > RUN_BUDGET_MS) break;
          await sendOne({ services, mailbox, session, renew, initialCounts, scrub: (e) => (used ? scrubSecrets(e, used) : e) }, stored);
        }
        healthy = session.alive;
      } finally {
        session.quit();
      }
      await recordSuccess(services, mailboxId, "outgoing", await delta(), found);
      // A session the server dropped is not reopened at once: what is left waits for the next tick.
      await rescheduleMailbox(services, mailboxId, healthy);
      return "done";
    } finally {
      await slot.release();
    }
  } finally {
    await lease.release();
  }
}
