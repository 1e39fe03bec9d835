/**
 * @module Process Email From: the cut-off before which received mail is not processed
 * (docs/decisions/0017-process-email-from.md). The mailbox's processEmailReceivedAfter overrides
 * the profile's processEmailFrom; unset on both means no cut-off.
 */
import type { Mailbox } from "../../domain/mailbox.js";
import type { Profile } from "../../domain/profile.js";

export function effectiveCutoff(mailbox: Pick<Mailbox, "processEmailReceivedAfter">, profile: Pick<Profile, "processEmailFrom">): string | null {
  return mailbox.processEmailReceivedAfter ?? profile.processEmailFrom ?? null;
}

/**
 * Received before the cut-off. The cut-off only ever holds older mail back, so a date in the
 * future (a lying clock, a forged field) just means "process it", as a message without any date does.
 */
export function isBeforeCutoff(receivedAt: Date, cutoff: string | null): boolean {
  if (cutoff === null) return false;
  const at = Date.parse(cutoff);
  return Number.isFinite(at) && receivedAt.getTime() < at;
}

/**
 * A message skipped by the cut-off `then` may pass the cut-off `now`: the cut-off was cleared or
 * moved earlier. A later (or the same) cut-off skips it again without fetching it.
 */
export function cutoffMovedEarlier(then: string, now: string | null): boolean {
  if (now === null) return true;
  const before = Date.parse(then);
  const after = Date.parse(now);
  return Number.isFinite(before) && Number.isFinite(after) && after < before;
}
