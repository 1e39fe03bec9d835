/**
 * @module Writes the outcome of one sync run onto the mailbox, through the one error policy,
 * raises the alert that goes with it, and keeps the due index in step (a postponed mailbox is
 * due again when its postponement ends; a disabled one leaves the index).
 */
import type { AppError } from "../errors.js";
import type { Direction, Mailbox, MailboxStats } from "../domain/mailbox.js";
import type { Services } from "../runtime/services.js";
import type { Stored } from "../storage/documentTable.js";
import { applyFailure, applySuccess, MAX_TRANSIENT_FAILURES, type FailureOutcome } from "./errorPolicy.js";
import { raiseAlert } from "./alerts.js";
import { alertFailure } from "./failureAlerts.js";
import { noteFailure, noteSaved } from "../telemetry/mailboxMetrics.js";

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

/**
 * Counts work done without touching the status fields (a run that stopped half-way still counts).
 * `known`: the mailbox as the caller read it; when its counts are already these, nothing is written.
 */
export async function addMailboxStats(services: Services, mailboxId: string, delta: StatsChange, known?: Stored<Mailbox>): Promise<void> {
  if (!("exact" in delta) && Object.values(delta).every((v) => !v)) return;
  if (known && "exact" in delta && Object.entries(delta.exact).every(([k, v]) => known.doc.stats[k as keyof MailboxStats] === v)) return;
  let before: MailboxStats | undefined;
  const saved = await services.repos.mailboxes.update(mailboxId, (m) => {
    before = m.stats;
    return { ...m, stats: addStats(m.stats, delta) };
  }, undefined, known);
  noteSaved(before, saved.doc);
}

/** `known`: the mailbox as the run read it at its start, which saves a read when nothing changed it since. */
export async function recordSuccess(services: Services, mailboxId: string, direction: Direction, delta: StatsChange = {}, known?: Stored<Mailbox>): Promise<Mailbox> {
  let failuresBefore = 0;
  let before: MailboxStats | undefined;
  const saved = await services.repos.mailboxes.update(mailboxId, (m) => {
    failuresBefore = m[direction].transientFailureCount;
    before = m.stats;
    return { ...applySuccess(m, direction, services.clock.now()), stats: addStats(m.stats, delta) };
  }, undefined, known);
  noteSaved(before, saved.doc);
  if (failuresBefore > 0) {
    await raiseAlert(services, {
      level: "information", code: "MAILBOX_RECOVERED", mailboxId, profileId: saved.doc.profileId,
      message: `Mailbox ${saved.doc.emailAddress}: ${direction} sync works again after ${failuresBefore} failed attempt(s).`,
    });
  }
  return saved.doc;
}

/**
 * One failed run of one direction, through the error policy on that direction's state only: a
 * POP3 outage never postpones sends, and the other direction's count is never reset by it.
 */
export async function recordFailure(
  services: Services, mailboxId: string, direction: Direction, err: AppError, delta: StatsChange = {}, known?: Stored<Mailbox>,
): Promise<{ mailbox: Mailbox; outcome: FailureOutcome }> {
  let outcome: FailureOutcome = "postponed";
  let before: MailboxStats | undefined;
  const saved = await services.repos.mailboxes.update(mailboxId, (m) => {
    const r = applyFailure(m, direction, err, services.clock.now());
    outcome = r.outcome;
    before = m.stats;
    return { ...r.mailbox, stats: addStats(m.stats, delta) };
  }, undefined, known);
  const m = saved.doc;
  noteSaved(before, m);
  noteFailure(m, direction, outcome, err.code);
  const state = m[direction];
  if (outcome === "postponed") {
    await services.due.schedule(direction, mailboxId, new Date(state.postponedUntil ?? services.clock.now().toISOString()), true);
  } else {
    await services.due.remove(direction, mailboxId);
  }
  const what = outcome === "postponed"
    ? `Retrying at ${state.postponedUntil} (attempt ${state.transientFailureCount} of ${MAX_TRANSIENT_FAILURES}).`
    : `${direction === "incoming" ? "Incoming" : "Outgoing"} sync is disabled${err.transient ? ` after ${MAX_TRANSIENT_FAILURES} failed attempts in a row` : ""}; run Test & Enable once it is fixed.`;
  await alertFailure(services, { level: outcome === "postponed" ? "warning" : "error", mailbox: m, direction, err, what, activity: "sync" });
  return { mailbox: m, outcome };
}
