/**
 * @module Writes the outcome of one sync run onto the mailbox, through the one error policy,
 * raises the alert that goes with it, and keeps the due index in step (a postponed mailbox is
 * due again when its postponement ends; a disabled one leaves the index).
 */
import type { AppError } from "../errors.js";
import type { Direction, Mailbox, MailboxStats } from "../domain/mailbox.js";
import type { Services } from "../runtime/services.js";
import { applyFailure, applySuccess, MAX_TRANSIENT_FAILURES, type FailureOutcome } from "./errorPolicy.js";
import { adviceFor } from "./advice.js";
import { raiseAlert } from "./alerts.js";

/** Errors of the server, not of one mailbox's account: alerted once on the profile. */
const SERVER_LEVEL = new Set<string>([
  "NETWORK_UNREACHABLE", "CONNECTION_TIMEOUT", "TLS_CERTIFICATE_UNTRUSTED", "TLS_HANDSHAKE_FAILED", "TLS_REQUIRED", "PROTOCOL_ERROR",
]);

export type StatsDelta = Partial<MailboxStats>;
/** Counts kept exactly elsewhere (incoming: checkpoint.ts), copied onto the mailbox as they are. */
export interface ExactStats { exact: StatsDelta }
export type StatsChange = StatsDelta | ExactStats;

function addStats(stats: MailboxStats, change: StatsChange): MailboxStats {
  if ("exact" in change) return { ...stats, ...change.exact };
  const delta = change;
  return {
    received: stats.received + (delta.received ?? 0),
    sent: stats.sent + (delta.sent ?? 0),
    failed: stats.failed + (delta.failed ?? 0),
    skipped: stats.skipped + (delta.skipped ?? 0),
    quarantined: stats.quarantined + (delta.quarantined ?? 0),
  };
}

/** Counts work done without touching the status fields (a run that stopped half-way still counts). */
export async function addMailboxStats(services: Services, mailboxId: string, delta: StatsChange): Promise<void> {
  if (!("exact" in delta) && Object.values(delta).every((v) => !v)) return;
  await services.repos.mailboxes.update(mailboxId, (m) => ({ ...m, stats: addStats(m.stats, delta) }));
}

export async function recordSuccess(services: Services, mailboxId: string, direction: Direction, delta: StatsChange = {}): Promise<Mailbox> {
  let failuresBefore = 0;
  const saved = await services.repos.mailboxes.update(mailboxId, (m) => {
    failuresBefore = m.transientFailureCount;
    return { ...applySuccess(m, direction, services.clock.now()), stats: addStats(m.stats, delta) };
  });
  if (failuresBefore > 0) {
    await raiseAlert(services, {
      level: "information", code: "MAILBOX_RECOVERED", mailboxId, profileId: saved.doc.profileId,
      message: `Mailbox ${saved.doc.emailAddress}: ${direction} sync works again after ${failuresBefore} failed attempt(s).`,
    });
  }
  return saved.doc;
}

export async function recordFailure(
  services: Services, mailboxId: string, direction: Direction, err: AppError, delta: StatsChange = {},
): Promise<{ mailbox: Mailbox; outcome: FailureOutcome }> {
  let outcome: FailureOutcome = "postponed";
  const saved = await services.repos.mailboxes.update(mailboxId, (m) => {
    const r = applyFailure(m, direction, err, services.clock.now());
    outcome = r.outcome;
    return { ...r.mailbox, stats: addStats(m.stats, delta) };
  });
  const m = saved.doc;
  const level = outcome === "postponed" ? "warning" : "error";
  if (outcome === "postponed") {
    await services.due.schedule(direction, mailboxId, new Date(m.postponedUntil ?? services.clock.now().toISOString()), true);
  } else {
    await services.due.remove(direction, mailboxId);
  }
  const what = outcome === "postponed"
    ? `Retrying at ${m.postponedUntil} (attempt ${m.transientFailureCount} of ${MAX_TRANSIENT_FAILURES}).`
    : `${direction === "incoming" ? "Incoming" : "Outgoing"} sync is disabled${err.transient ? ` after ${MAX_TRANSIENT_FAILURES} failed attempts in a row` : ""}.`;
  const profile = SERVER_LEVEL.has(err.code) && m.profileId ? (await services.repos.profiles.get(m.profileId))?.doc : undefined;
  if (profile) {
    // The server itself is the problem: every mailbox of the profile fails the same way, so the
    // alert belongs to the profile and repeats from all its mailboxes fold into it.
    const server = direction === "incoming" ? profile.incoming : profile.outgoing;
    await raiseAlert(services, {
      level, code: err.code, mailboxId, profileId: profile.id, foldKey: `${level}|${err.code}|profile:${profile.id}|${direction}`,
      message: `Profile "${profile.name}": the ${direction} server ${server.host}:${server.port} failed (${err.message}), last for mailbox ${m.emailAddress}. ${what} ${adviceFor(err.code)} Mailbox owners need not act.`,
    });
  } else {
    await raiseAlert(services, {
      level, code: err.code, mailboxId, profileId: m.profileId, foldKey: `${level}|${err.code}|${mailboxId}|${direction}`,
      message: `Mailbox ${m.emailAddress}: ${direction} sync failed (${err.message}). ${what} ${adviceFor(err.code)}`,
    });
  }
  return { mailbox: m, outcome };
}
