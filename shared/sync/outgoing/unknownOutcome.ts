/**
 * @module The rule for a send found in `sending` by a later run. `sending` is written only at
 * the commit, right before the end of data goes out (commitGate.ts), and a run finds it only
 * after the worker that wrote it lost its lease, so that worker is gone and nobody knows whether
 * the server took the message. It is never sent again: it becomes `failed` with a permanent
 * error, and an error alert tells the admin to check (docs/decisions/0004-outgoing-exactly-once.md).
 */
import type { EmailActivity } from "../../domain/email.js";
import type { Mailbox } from "../../domain/mailbox.js";
import type { Services } from "../../runtime/services.js";
import type { Stored } from "../../storage/documentTable.js";
import { isAppError } from "../../errors.js";
import { markFailedAttempt, outcomeUnknown } from "./emailOutcome.js";
import { alertEmailFailure } from "./emailAlerts.js";
import { replaceCounted, type OutgoingCounts } from "./outgoingCounters.js";

/** Returns how many emails it failed. */
export async function settleUnknownOutcomes(services: Services, mailbox: Mailbox, sending: Stored<EmailActivity>[], initialCounts: OutgoingCounts): Promise<number> {
  let failed = 0;
  for (const stored of sending) {
    const err = outcomeUnknown(undefined);
    try {
      const saved = await replaceCounted(services, stored, markFailedAttempt(stored.doc, err, services.clock.now()), initialCounts);
      failed++;
      await alertEmailFailure(services, mailbox, saved.doc, err);
    } catch (e) {
      // Changed since it was read: its worker wrote the outcome after all.
      if (!(isAppError(e) && (e.code === "PRECONDITION_FAILED" || e.code === "NOT_FOUND"))) throw e;
    }
  }
  return failed;
}
