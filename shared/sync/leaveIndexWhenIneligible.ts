/**
 * @module What the due index does with a mailbox its worker found ineligible (decision 0033). The
 * scheduler's tick reads no mailbox: it enqueues every due entry, and the worker, which reads the
 * mailbox anyway, keeps the index in step here, once per change of state:
 *   - deleted, inactive, not enabled, no profile, method none: it leaves the index (the admin
 *     change that makes it eligible again schedules it, admin/mailboxes.ts);
 *   - postponed: due again when the postponement ends;
 *   - not approved: one alert (folded), and a look again in an hour, since approval may also stop
 *     being required org-wide; approving the mailbox makes it due at once.
 */
import { ineligibility, type Direction, type Mailbox } from "../domain/mailbox.js";
import type { OrgSettings } from "../domain/orgSettings.js";
import type { Services } from "../runtime/services.js";
import { raiseAlert } from "./alerts.js";

/** How often an unapproved mailbox is looked at again. */
export const NOT_APPROVED_RECHECK_MS = 60 * 60_000;

/**
 * Settles the index for `mailbox` (undefined: it no longer exists) and returns why it is
 * ineligible, or null when it is eligible after all (nothing changes then).
 */
export async function leaveIndexWhenIneligible(services: Services, direction: Direction, mailboxId: string, mailbox: Mailbox | undefined, settings: OrgSettings): Promise<string | null> {
  const now = services.clock.now();
  if (!mailbox) {
    await services.due.remove(direction, mailboxId);
    return "deleted";
  }
  const reason = ineligibility(mailbox, direction, settings, now);
  if (reason === "postponed") await services.due.schedule(direction, mailboxId, new Date(mailbox[direction].postponedUntil ?? now.toISOString()), true);
  else if (reason === "notApproved") {
    await notApprovedAlert(services, mailbox);
    await services.due.schedule(direction, mailboxId, new Date(now.getTime() + NOT_APPROVED_RECHECK_MS), true);
  } else if (reason) await services.due.remove(direction, mailboxId);
  return reason;
}

/** Raised once (folded), not at every look. */
function notApprovedAlert(services: Services, m: Mailbox): Promise<void> {
  return raiseAlert(services, {
    level: "warning", code: "MAILBOX_NOT_APPROVED", mailboxId: m.id, profileId: m.profileId,
    foldKey: `notApproved|${m.id}`, once: true,
    message: `Mailbox ${m.emailAddress} is not approved, so its email is not processed. Approve it (POST /api/mailboxes/${m.id}/approve) to start.`,
  });
}
