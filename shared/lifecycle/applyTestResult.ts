/**
 * @module Writes a Test & Enable result onto the mailbox: each direction that passed is enabled
 * (and its failure count cleared), each that failed is `failure` and not enabled, with lastError
 * and an error alert. A failed test does not postpone the mailbox (API.md). The mailbox enters
 * the due index so an enabled direction starts at the next tick.
 */
import type { AppError } from "../errors.js";
import type { Mailbox } from "../domain/mailbox.js";
import type { JobResult } from "../domain/job.js";
import type { Services } from "../runtime/services.js";
import { raiseAlert } from "../sync/alerts.js";
import { adviceFor } from "../sync/advice.js";
import { scheduleMailbox } from "../sync/scheduler.js";
import type { ConnectionTestResult, DirectionResult } from "./connectionTest.js";

type Status = Mailbox["incomingStatus"];
const statusOf = (r: DirectionResult, current: Status): Status => (!r.tested ? current : r.error ? "failure" : "success");

export async function applyTestResult(services: Services, mailboxId: string, result: ConnectionTestResult): Promise<JobResult> {
  const now = services.clock.now().toISOString();
  const firstError: AppError | null =
    (result.incoming.tested ? result.incoming.error : null) ?? (result.outgoing.tested ? result.outgoing.error : null);
  const saved = await services.repos.mailboxes.update(mailboxId, (m) => ({
    ...m,
    incomingStatus: statusOf(result.incoming, m.incomingStatus),
    outgoingStatus: statusOf(result.outgoing, m.outgoingStatus),
    enabledForIncoming: result.incoming.tested ? result.incoming.error === null : m.enabledForIncoming,
    enabledForOutgoing: result.outgoing.tested ? result.outgoing.error === null : m.enabledForOutgoing,
    lastError: firstError ? { ...firstError.toSummary(), at: now } : null,
    transientFailureCount: 0,
    postponedUntil: null,
    updatedAt: now,
  }));
  const m = saved.doc;
  for (const [direction, r] of [["incoming", result.incoming], ["outgoing", result.outgoing]] as const) {
    if (r.tested && r.error) {
      await raiseAlert(services, {
        level: "error", code: r.error.code, mailboxId, profileId: m.profileId, foldKey: `error|${r.error.code}|${mailboxId}|${direction}`,
        message: `Test & Enable of mailbox ${m.emailAddress} failed for ${direction} (${r.error.message}); ${direction} stays disabled. ${adviceFor(r.error.code)}`,
      });
    }
  }
  const passed = (["incoming", "outgoing"] as const).filter((d) => result[d].tested && !result[d].error);
  if (passed.length > 0 && !firstError) {
    await raiseAlert(services, {
      level: "information", code: "MAILBOX_ENABLED", mailboxId, profileId: m.profileId,
      message: `Mailbox ${m.emailAddress} passed Test & Enable; ${passed.join(" and ")} sync is enabled.`,
    });
  }
  await scheduleMailbox(services, mailboxId);
  return { mailboxId, incomingStatus: m.incomingStatus, outgoingStatus: m.outgoingStatus, error: firstError?.toSummary() ?? null };
}
