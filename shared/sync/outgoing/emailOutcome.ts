/**
 * @module What one send attempt does to an email (API.md "Email activities"), as pure functions
 * over the activity so the rules are tested without storage: sent; a transient failure back to
 * `pendingSend` with attempts + 1 and `nextAttemptAt` 5 minutes on, `failed` at the 10th; a
 * permanent failure `failed` at once. The mailbox's own error policy uses the same constants.
 */
import { AppError } from "../../errors.js";
import type { EmailActivity } from "../../domain/email.js";
import { MAX_TRANSIENT_FAILURES, POSTPONE_MS } from "../errorPolicy.js";

export function markCommitted(e: EmailActivity, now: Date): EmailActivity {
  return { ...e, status: "sending", updatedAt: now.toISOString() };
}

/** `rejected`: recipients the server refused while accepting the message for the others. */
export function markSent(e: EmailActivity, now: Date, rejected: string[]): EmailActivity {
  const at = now.toISOString();
  const error = rejected.length === 0 ? null : {
    code: "SMTP_RECIPIENT_REJECTED",
    message: `Sent, but the SMTP server refused these recipients: ${rejected.join(", ")}.`,
    transient: false,
  };
  return { ...e, status: "sent", sentAt: at, attempts: e.attempts + 1, nextAttemptAt: null, error, updatedAt: at };
}

export function markFailedAttempt(e: EmailActivity, err: AppError, now: Date): EmailActivity {
  const at = now.toISOString();
  const attempts = e.attempts + 1;
  const error = err.toSummary();
  if (err.transient && attempts < MAX_TRANSIENT_FAILURES) {
    const nextAttemptAt = new Date(now.getTime() + POSTPONE_MS).toISOString();
    return { ...e, status: "pendingSend", attempts, error, nextAttemptAt, updatedAt: at };
  }
  return { ...e, status: "failed", attempts, error, nextAttemptAt: null, updatedAt: at };
}

/**
 * The end of data went out and no reply said what became of it: the worker died, or the
 * connection dropped or stalled before the reply. The server may have delivered it, so it is
 * never sent again (docs/decisions/0004-outgoing-exactly-once.md).
 */
export function outcomeUnknown(cause: AppError | undefined): AppError {
  const why = cause
    ? `the connection failed before the server's answer (${cause.message})`
    : "the worker sending it stopped before it recorded the server's answer";
  return new AppError(
    "SEND_OUTCOME_UNKNOWN",
    `The whole message was handed to the SMTP server, but ${why}. It may have been delivered, so it is not sent again; check with the recipients and send it anew if needed.`,
    { cause, transient: false },
  );
}
