/**
 * @module Writes a Test & Enable result onto the mailbox: each direction that passed is enabled
 * (and its failure count cleared), each that failed is `failure` and not enabled, with lastError
 * and an error alert (on the profile too when its server or its credentials failed, see
 * failureAlerts.ts). A failed test does not postpone the mailbox (API.md). The mailbox enters
 * the due index so an enabled direction starts at the next tick.
 */
import type { AppError } from "../errors.js";
import type { DirectionState } from "../domain/mailbox.js";
import type { JobResult } from "../domain/job.js";
import type { Services } from "../runtime/services.js";
import { raiseAlert } from "../sync/alerts.js";
import { alertFailure } from "../sync/failureAlerts.js";
import { scheduleMailbox } from "../sync/scheduler.js";
import type { ConnectionTestResult, DirectionResult } from "./connectionTest.js";

/**
 * A tested direction starts afresh: passed, it is enabled with a clean count; failed, it is
 * `failure` with its own lastError. An untested direction keeps its state.
 */
function afterTest(state: DirectionState, r: DirectionResult, now: string): DirectionState {
  if (!r.tested) return state;
  const base = { ...state, transientFailureCount: 0, postponedUntil: null, lastSyncAt: now };
  return r.error
    ? { ...base, status: "failure", enabled: false, lastError: { ...r.error.toSummary(), at: now } }
    : { ...base, status: "success", enabled: true, lastError: null, lastSuccessfulSyncAt: now };
}

export async function applyTestResult(services: Services, mailboxId: string, result: ConnectionTestResult): Promise<JobResult> {
  const now = services.clock.now().toISOString();
  const firstError: AppError | null =
    (result.incoming.tested ? result.incoming.error : null) ?? (result.outgoing.tested ? result.outgoing.error : null);
  const saved = await services.repos.mailboxes.update(mailboxId, (m) => ({
    ...m,
    incoming: afterTest(m.incoming, result.incoming, now),
    outgoing: afterTest(m.outgoing, result.outgoing, now),
    updatedAt: now,
  }));
  const m = saved.doc;
  for (const [direction, r] of [["incoming", result.incoming], ["outgoing", result.outgoing]] as const) {
    if (r.tested && r.error) {
      await alertFailure(services, { level: "error", mailbox: m, direction, err: r.error, what: `${direction === "incoming" ? "Incoming" : "Outgoing"} stays disabled.`, activity: "test" });
    }
  }
  const passed = (["incoming", "outgoing"] as const).filter((d) => result[d].tested && !result[d].error);
  if (passed.length > 0 && !firstError) {
    // For the mailbox's owner whatever notifyMailboxOwner says (the seed: "shown to the mailbox
    // owner"), and once: the first success is news, a re-test that passes again is not.
    await raiseAlert(services, {
      level: "information", code: "MAILBOX_ENABLED", mailboxId, profileId: m.profileId, owner: { type: m.owner.type, id: m.owner.id },
      foldKey: `enabled|${mailboxId}`, once: true,
      message: `Mailbox ${m.emailAddress} passed Test & Enable; ${passed.join(" and ")} sync is enabled.`,
    });
  }
  await scheduleMailbox(services, mailboxId);
  return { mailboxId, incomingStatus: m.incoming.status, outgoingStatus: m.outgoing.status, error: firstError?.toSummary() ?? null };
}
