/**
 * @module Metrics of mailbox runs, emitted from the function adapters (functions/mailbox*.ts) and
 * from shared/sync/mailboxOutcome.ts, which sees every outcome a run writes onto a mailbox.
 *
 * `profile.id` comes from the mailbox document that mailboxOutcome.ts saved, remembered here per
 * mailbox (at most MAX_REMEMBERED_MAILBOXES, oldest forgotten first), so a run's duration carries
 * its profile without reading the mailbox again; a mailbox this instance has not saved yet is
 * reported without one.
 */
import { performance } from "node:perf_hooks";
import type { Direction, Mailbox, MailboxStats } from "../domain/mailbox.js";
import type { Dimensions, MetricName } from "./metrics.js";
import { telemetry } from "./telemetry.js";

export const MAX_REMEMBERED_MAILBOXES = 10_000;

const profiles = new Map<string, string>();

export function rememberProfile(mailboxId: string, profileId: string | null | undefined): void {
  profiles.delete(mailboxId); // re-inserted last: the Map's order is the forgetting order
  if (profileId) profiles.set(mailboxId, profileId);
  if (profiles.size > MAX_REMEMBERED_MAILBOXES) {
    const oldest = profiles.keys().next().value;
    if (oldest !== undefined) profiles.delete(oldest);
  }
}

export function mailboxDimensions(mailboxId: string): Dimensions {
  return { "mailbox.id": mailboxId, "profile.id": profiles.get(mailboxId) };
}

const MESSAGE_METRICS: Record<keyof MailboxStats, MetricName> = {
  received: "emailsync.messages.received",
  skipped: "emailsync.messages.skipped",
  quarantined: "emailsync.messages.quarantined",
  sent: "emailsync.messages.sent",
  failed: "emailsync.messages.failed",
};

/**
 * Counts messages. Counters only go up: a negative change (a parked message filed later moves
 * `skipped` down by one and `received` up) is left out.
 */
export function countMessages(mailboxId: string, counts: Partial<MailboxStats>): void {
  for (const [name, metric] of Object.entries(MESSAGE_METRICS) as [keyof MailboxStats, MetricName][]) {
    const n = counts[name] ?? 0;
    if (n > 0) telemetry().emit(metric, n, mailboxDimensions(mailboxId));
  }
}

/** Times one run and emits its duration with its outcome (`error` when it threw). */
export async function timedRun<T>(
  metric: "emailsync.poll.duration" | "emailsync.send.duration", mailboxId: string, run: () => Promise<T>, outcomeOf: (result: T) => string,
): Promise<T> {
  const started = performance.now();
  let outcome = "error";
  try {
    const result = await run();
    outcome = outcomeOf(result);
    return result;
  } finally {
    telemetry().emit(metric, performance.now() - started, { ...mailboxDimensions(mailboxId), outcome });
  }
}

/** A mailbox document was saved with new stats: remember its profile, count what sends moved. */
export function noteSaved(before: MailboxStats | undefined, after: Mailbox): void {
  rememberProfile(after.id, after.profileId);
  if (!before) return;
  // Incoming counts come from the run's own result (functions/mailboxIncoming.ts); sends are only
  // counted here, where the exact counters reach the mailbox.
  countMessages(after.id, { sent: after.stats.sent - before.sent, failed: after.stats.failed - before.failed });
}

/** The error policy postponed or disabled a direction. */
export function noteFailure(after: Mailbox, direction: Direction, outcome: "postponed" | "disabled", code: string): void {
  const metric: MetricName = outcome === "disabled" ? "emailsync.mailbox.disabled" : "emailsync.mailbox.postponed";
  telemetry().emit(metric, 1, { ...mailboxDimensions(after.id), direction, "error.code": code });
}
