/**
 * @module The one error policy for every sync path (DESIGN.md decision 5, API.md "Mailboxes"):
 * a transient error postpones the direction 5 minutes, up to 10 in a row, then disables it; a
 * permanent error disables it at once; a success resets the count. Pure functions over the
 * mailbox, so the policy is tested with a clock and no storage.
 */
import type { AppError } from "../errors.js";
import type { Direction, Mailbox } from "../domain/mailbox.js";

export const POSTPONE_MS = 5 * 60_000;
export const MAX_TRANSIENT_FAILURES = 10;

export type FailureOutcome = "postponed" | "disabled";

const statusField = (d: Direction): "incomingStatus" | "outgoingStatus" => (d === "incoming" ? "incomingStatus" : "outgoingStatus");
const enabledField = (d: Direction): "enabledForIncoming" | "enabledForOutgoing" => (d === "incoming" ? "enabledForIncoming" : "enabledForOutgoing");

export function applySuccess(m: Mailbox, direction: Direction, now: Date): Mailbox {
  return {
    ...m,
    [statusField(direction)]: "success",
    lastSyncAt: now.toISOString(),
    lastSuccessfulSyncAt: now.toISOString(),
    lastError: null,
    transientFailureCount: 0,
    postponedUntil: null,
    updatedAt: now.toISOString(),
  };
}

export function applyFailure(m: Mailbox, direction: Direction, err: AppError, now: Date): { mailbox: Mailbox; outcome: FailureOutcome } {
  const at = now.toISOString();
  const lastError = { ...err.toSummary(), at };
  const count = err.transient ? m.transientFailureCount + 1 : m.transientFailureCount;
  if (err.transient && count < MAX_TRANSIENT_FAILURES) {
    return {
      outcome: "postponed",
      mailbox: {
        ...m, lastSyncAt: at, lastError, transientFailureCount: count,
        postponedUntil: new Date(now.getTime() + POSTPONE_MS).toISOString(), updatedAt: at,
      },
    };
  }
  return {
    outcome: "disabled",
    mailbox: {
      ...m, lastSyncAt: at, lastError, transientFailureCount: count, postponedUntil: null,
      [statusField(direction)]: "failure", [enabledField(direction)]: false, updatedAt: at,
    },
  };
}
