/**
 * @module Parked messages: recorded, counted and left on the server, but not settled for good, so
 * a poll fetches them again when what kept them out may have changed
 * (docs/decisions/0017-process-email-from.md):
 *  - skipped by the cut-off (`cutoff` on the marker): again once the effective cut-off is cleared
 *    or moved earlier than the one that skipped it;
 *  - a forwarded message whose recipients matched no mailbox allowed to receive it (`retryAt` on
 *    a noMatch marker): again after a growing wait, a bounded number of times, so a mailbox
 *    created or approved later still gets it.
 * Reconsidered messages share the poll's budget (MAX_MESSAGES_PER_RUN, MAX_RUN_MS) after new mail.
 */
import { FORWARD_RECONSIDER_FIRST_MS, FORWARD_RECONSIDER_MAX_MS, MAX_FORWARD_RECONSIDERATIONS } from "../../limits.js";
import type { Marker } from "./checkpoint.js";
import { cutoffMovedEarlier } from "./cutoff.js";

/** The marker may still change: the message is looked at again when due. */
export function isParked(marker: Marker): boolean {
  return (marker.outcome === "skipped" && marker.cutoff !== undefined) || (marker.outcome === "noMatch" && marker.retryAt !== undefined);
}

/** A parked message to fetch again now. */
export function isDue(marker: Marker, cutoff: string | null, now: Date): boolean {
  if (marker.outcome === "skipped" && marker.cutoff !== undefined) return cutoffMovedEarlier(marker.cutoff, cutoff);
  if (marker.outcome === "noMatch" && marker.retryAt !== undefined) return Date.parse(marker.retryAt) <= now.getTime();
  return false;
}

/**
 * When a forwarded message that matched no allowed mailbox is looked at again: after 1 hour, then
 * twice as long each time up to a day; nothing (settled for good) after MAX_FORWARD_RECONSIDERATIONS.
 */
export function forwardRetry(previous: Marker | undefined, now: Date): Pick<Marker, "retryAt" | "attempts"> {
  const attempts = (previous?.attempts ?? 0) + 1;
  if (attempts > MAX_FORWARD_RECONSIDERATIONS) return { attempts };
  const wait = Math.min(FORWARD_RECONSIDER_FIRST_MS * 2 ** (attempts - 1), FORWARD_RECONSIDER_MAX_MS);
  return { attempts, retryAt: new Date(now.getTime() + wait).toISOString() };
}
