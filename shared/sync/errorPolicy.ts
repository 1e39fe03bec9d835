/**
 * @module The one error policy for every sync path (DESIGN.md decision 5, API.md "Mailboxes"):
 * a transient error postpones the direction 5 minutes, up to 10 in a row, then disables it; a
 * permanent error disables it at once; a success resets the count. Pure functions over the
 * mailbox, so the policy is tested with a clock and no storage. Each direction has its own state
 * (`m.incoming`, `m.outgoing`) and the policy runs on that one only.
 */
import type { AppError } from "../errors.js";
import type { Direction, DirectionState, Mailbox } from "../domain/mailbox.js";

export const POSTPONE_MS = 5 * 60_000;
export const MAX_TRANSIENT_FAILURES = 10;

export type FailureOutcome = "postponed" | "disabled";

/** The direction's state after a successful run: count reset, postponement and error cleared. */
export function applySuccess(m: Mailbox, direction: Direction, now: Date): Mailbox {
  const at = now.toISOString();
  return {
    ...m,
    [direction]: { ...m[direction], status: "success", lastSyncAt: at, lastSuccessfulSyncAt: at, lastError: null, transientFailureCount: 0, postponedUntil: null },
    updatedAt: at,
  };
}

/** The direction's state after a failed run; the other direction is left exactly as it was. */
export function applyFailure(m: Mailbox, direction: Direction, err: AppError, now: Date): { mailbox: Mailbox; outcome: FailureOutcome } {
  const at = now.toISOString();
  const state = m[direction];
  const lastError = { ...err.toSummary(), at };
  const count = err.transient ? state.transientFailureCount + 1 : state.transientFailureCount;
  const postpone = err.transient && count < MAX_TRANSIENT_FAILURES;
  const next: DirectionState = postpone
    ? { ...state, lastSyncAt: at, lastError, transientFailureCount: count, postponedUntil: new Date(now.getTime() + POSTPONE_MS).toISOString() }
    : { ...state, lastSyncAt: at, lastError, transientFailureCount: count, postponedUntil: null, status: "failure", enabled: false };
  return { outcome: postpone ? "postponed" : "disabled", mailbox: { ...m, [direction]: next, updatedAt: at } };
}
