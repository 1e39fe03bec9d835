/**
 * @module One send attempt of one email over an open SMTP session. The stored bytes go out
 * through the commit gate; the email's ETag decides every race (a cancel, another worker), and a
 * failure of the message touches only this email. What the result means for the email is in
 * emailOutcome.ts; the exactly-once argument in docs/decisions/0004-outgoing-exactly-once.md.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { AppError, isAppError } from "../../errors.js";
import type { EmailActivity } from "../../domain/email.js";
import type { Mailbox } from "../../domain/mailbox.js";
import type { Services } from "../../runtime/services.js";
import type { Stored } from "../../storage/documentTable.js";
import type { SmtpEnvelope, SmtpSession } from "../../smtp/session.js";
import { classifySmtpError } from "../../smtp/classify.js";
import { AttemptCommit } from "./commitGate.js";
import { markFailedAttempt, markSent, outcomeUnknown } from "./emailOutcome.js";
import { alertEmailFailure } from "./emailAlerts.js";
import { replaceCounted, type OutgoingCounts } from "./outgoingCounters.js";

export interface SendContext {
  services: Services;
  mailbox: Mailbox;
  session: SmtpSession;
  /** Renews the mailbox lease and the connection slot; false when either was lost. */
  renew: () => Promise<boolean>;
  /** The mailbox's counts before exact counters existed (outgoingCounters.ts). */
  initialCounts: OutgoingCounts;
  /** Cuts the login's secrets out of a server reply before it is stored (a server may echo them). */
  scrub?: (err: AppError) => AppError;
}

/** `skipped`: someone else decided this email first (a cancel, another worker); nothing was delivered. */
export type AttemptOutcome = "sent" | "retry" | "failed" | "skipped";

export function envelopeOf(mailbox: Mailbox, e: EmailActivity): SmtpEnvelope {
  const to = [...new Set([...e.to, ...e.cc, ...e.bcc].map((a) => a.address.toLowerCase()))];
  return { from: mailbox.emailAddress, to };
}

/**
 * Writes an outcome conditioned on the ETag the attempt holds. Undefined when the email changed
 * meanwhile: whoever changed it owns the outcome. Storage hiccups are retried a little, because
 * an outcome left unwritten turns a sent email into "outcome unknown" later.
 */
async function settle(ctx: SendContext, base: Stored<EmailActivity>, change: (e: EmailActivity) => EmailActivity): Promise<EmailActivity | undefined> {
  const { services } = ctx;
  for (let attempt = 0; ; attempt++) {
    try {
      return (await replaceCounted(services, base, change(base.doc), ctx.initialCounts)).doc;
    } catch (err) {
      if (isAppError(err) && (err.code === "PRECONDITION_FAILED" || err.code === "NOT_FOUND")) return undefined;
      if (!(isAppError(err) && err.transient) || attempt >= 3) throw err;
      await sleep(250 * (attempt + 1));
    }
  }
}

export async function sendOne(ctx: SendContext, stored: Stored<EmailActivity>): Promise<AttemptOutcome> {
  const { services, mailbox, session } = ctx;
  const email = stored.doc;
  const now = (): Date => services.clock.now();
  if (!email.rawBlob) {
    const err = new AppError("INTERNAL", "The stored message of this email is missing; it cannot be sent.", { transient: false });
    const failed = await settle(ctx, stored, (e) => markFailedAttempt(e, err, now()));
    if (failed) await alertEmailFailure(services, mailbox, failed, err);
    return failed ? "failed" : "skipped";
  }
  const bytes = await services.raw.downloadBuffer(email.rawBlob);
  const attempt = new AttemptCommit(services, stored, ctx.renew);
  try {
    const result = await session.send(envelopeOf(mailbox, email), attempt.message(bytes));
    const sent = await settle(ctx, attempt.committed ?? stored, (e) => markSent(e, now(), result.rejected));
    if (sent?.error) await alertEmailFailure(services, mailbox, sent, new AppError("SMTP_RECIPIENT_REJECTED", sent.error.message));
    return "sent";
  } catch (thrown) {
    const endMayBeOut = await attempt.afterSessionFailure();
    if (attempt.failure) {
      // The end of data was never written; dropping the connection makes the server discard the rest.
      session.close();
      if (attempt.failure.lostRace) return "skipped";
      throw attempt.failure.err;
    }
    let err = classifySmtpError(thrown);
    if (ctx.scrub) err = ctx.scrub(err);
    // After the end of data only an explicit reply says the server did not take the message.
    if (endMayBeOut && err.response === undefined) err = outcomeUnknown(err);
    const next = await settle(ctx, attempt.committed ?? stored, (e) => markFailedAttempt(e, err, now()));
    if (next) await alertEmailFailure(services, mailbox, next, err);
    if (session.alive) await session.reset().catch(() => session.close());
    if (!next) return "skipped";
    return next.status === "failed" ? "failed" : "retry";
  }
}
