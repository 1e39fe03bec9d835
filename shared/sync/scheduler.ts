/**
 * @module The scheduler tick: reads only what the due index says is due, checks each mailbox is
 * still eligible, and enqueues one message per due mailbox and direction. Claiming an entry moves
 * it forward in the same transaction, so overlapping ticks (or two instances) enqueue it once.
 */
import { ineligibility, type Direction, type Mailbox } from "../domain/mailbox.js";
import type { OrgSettings } from "../domain/orgSettings.js";
import type { Services } from "../runtime/services.js";
import { QUEUES } from "../storage/names.js";
import type { DueEntry } from "../coordination/dueIndex.js";
import { raiseAlert } from "./alerts.js";

/** Most due entries one tick takes per direction; the rest wait for the next tick. */
export const TICK_LIMIT = 5000;
const CONCURRENCY = 16;
/** An outgoing entry comes back after this if the worker never reschedules it (it crashed). */
export const OUTGOING_SAFETY_MS = 10 * 60_000;
/** How often an unapproved mailbox is looked at again. */
export const NOT_APPROVED_RECHECK_MS = 60 * 60_000;

export interface TickResult {
  incoming: number;
  outgoing: number;
}

/** Puts a mailbox in the due index for both directions now; the tick decides whether it is eligible. */
export async function scheduleMailbox(services: Services, mailboxId: string): Promise<void> {
  const now = services.clock.now();
  await Promise.all([services.due.schedule("incoming", mailboxId, now), services.due.schedule("outgoing", mailboxId, now)]);
}

/** Every mailbox due now (after an org-wide change such as approval no longer being required). */
export async function scheduleAllMailboxes(services: Services): Promise<number> {
  let token: string | undefined;
  let n = 0;
  do {
    const page = await services.repos.mailboxes.list({ top: 1000, continuationToken: token });
    for (const { doc } of page.items) await scheduleMailbox(services, doc.id);
    n += page.items.length;
    token = page.continuationToken ?? undefined;
  } while (token);
  return n;
}

async function nextFor(services: Services, direction: Direction, m: Mailbox, now: Date): Promise<Date> {
  if (direction === "outgoing") return new Date(now.getTime() + OUTGOING_SAFETY_MS);
  const profile = m.profileId ? await services.repos.profiles.get(m.profileId) : undefined;
  const minutes = profile?.doc.minPollingIntervalMinutes ?? 5;
  return new Date(now.getTime() + minutes * 60_000);
}

async function handleEntry(services: Services, direction: Direction, entry: DueEntry, settings: OrgSettings, now: Date): Promise<boolean> {
  const found = await services.repos.mailboxes.get(entry.mailboxId);
  if (!found) {
    await services.due.remove(direction, entry.mailboxId);
    return false;
  }
  const m = found.doc;
  const reason = ineligibility(m, direction, settings, now);
  if (reason === "postponed") {
    await services.due.claim(direction, entry, new Date(m[direction].postponedUntil ?? now.toISOString()));
    return false;
  }
  if (reason === "notApproved") {
    // Approval may also stop being required (org settings): look again in an hour. Approving
    // the mailbox makes it due at once. The alert is raised once, not at every look.
    await services.due.claim(direction, entry, new Date(now.getTime() + NOT_APPROVED_RECHECK_MS));
    await raiseAlert(services, {
      level: "warning", code: "MAILBOX_NOT_APPROVED", mailboxId: m.id, profileId: m.profileId,
      foldKey: `notApproved|${m.id}`, once: true,
      message: `Mailbox ${m.emailAddress} is not approved, so its email is not processed. Approve it (POST /api/mailboxes/${m.id}/approve) to start.`,
    });
    return false;
  }
  if (reason) {
    await services.due.remove(direction, entry.mailboxId);
    return false;
  }
  if (!(await services.due.claim(direction, entry, await nextFor(services, direction, m, now)))) return false;
  await services.queue.send(direction === "incoming" ? QUEUES.incoming : QUEUES.outgoing, { mailboxId: m.id });
  return true;
}

/** Alerts are kept this long after their last occurrence (docs/errors.md). */
export const ALERT_RETENTION_DAYS = 30;

/** At most once an hour across all instances (an hour-long lease that is never released). */
async function purgeOldAlerts(services: Services, now: Date): Promise<void> {
  const lease = await services.leases.tryAcquire("maintenance", "alert-retention", 60 * 60_000);
  if (!lease) return;
  const purged = await services.alerts.purgeOlderThan(new Date(now.getTime() - ALERT_RETENTION_DAYS * 24 * 3600_000));
  if (purged > 0) services.log.info("alerts purged", { purged });
}

export async function runSchedulerTick(services: Services): Promise<TickResult> {
  const now = services.clock.now();
  await purgeOldAlerts(services, now).catch((err: unknown) => services.log.warn("alert purge failed", { err }));
  const { settings } = await services.settings.get();
  const result: TickResult = { incoming: 0, outgoing: 0 };
  for (const direction of ["incoming", "outgoing"] as const) {
    const entries = await services.due.due(direction, now, TICK_LIMIT);
    for (let i = 0; i < entries.length; i += CONCURRENCY) {
      const batch = entries.slice(i, i + CONCURRENCY);
      const sent = await Promise.all(batch.map((e) => handleEntry(services, direction, e, settings, now).catch((err: unknown) => {
        services.log.warn("scheduler entry failed", { direction, mailboxId: e.mailboxId, err });
        return false;
      })));
      result[direction] += sent.filter(Boolean).length;
    }
  }
  return result;
}
