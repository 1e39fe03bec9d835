/**
 * @module Alerts about one email (they carry `emailId`): an error when it failed for good or a
 * recipient was refused, a warning when it will be retried. The mailbox's own alerts come from
 * mailboxOutcome.ts; these never touch the mailbox.
 */
import { ERROR_CODES, type AppError } from "../../errors.js";
import type { EmailActivity } from "../../domain/email.js";
import type { Mailbox } from "../../domain/mailbox.js";
import type { Services } from "../../runtime/services.js";
import { MAX_TRANSIENT_FAILURES } from "../errorPolicy.js";
import { adviceFor } from "../advice.js";
import { raiseAlert } from "../alerts.js";

const quoted = (subject: string): string => `"${subject.length > 80 ? `${subject.slice(0, 77)}...` : subject}"`;

export async function alertEmailFailure(services: Services, mailbox: Mailbox, email: EmailActivity, err: AppError): Promise<void> {
  const what = `Email ${quoted(email.subject)} from ${mailbox.emailAddress}`;
  const ids = { mailboxId: mailbox.id, profileId: mailbox.profileId, emailId: email.id };
  if (email.status === "pendingSend") {
    await raiseAlert(services, {
      level: "warning", code: err.code, ...ids,
      message: `${what} was not sent (${err.message}). Retrying at ${email.nextAttemptAt} (attempt ${email.attempts} of ${MAX_TRANSIENT_FAILURES}).`,
    });
    return;
  }
  const verb = email.status === "sent" ? "was sent with a problem" : err.transient ? `was not sent after ${email.attempts} attempts` : "was not sent";
  // The advice is written for the code's usual meaning; "retried automatically" is wrong for a
  // send that failed for good after retries, or whose outcome is unknown.
  const advice = !err.transient && !ERROR_CODES[err.code].transient ? ` ${adviceFor(err.code)}` : "";
  await raiseAlert(services, {
    level: "error", code: err.code, ...ids,
    message: `${what} ${verb}: ${err.message}${advice}`,
  });
}
