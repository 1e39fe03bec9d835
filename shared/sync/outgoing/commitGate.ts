/**
 * @module The commit point of a send. nodemailer writes the end of data (CRLF.CRLF) only once its
 * source stream ends, and a server takes responsibility for a message only on receiving that
 * marker (RFC 5321 §4.1.1.4, §6.1): data cut off before it is discarded. The message is therefore
 * handed over as a stream whose end waits for the commit, an ETag-conditional write that turns the
 * email `sending`. A commit that fails (a cancel or another worker got there first, the lease was
 * lost) or that lands after the session already failed never releases the end.
 */
import { Readable } from "node:stream";
import { isAppError } from "../../errors.js";
import type { EmailActivity } from "../../domain/email.js";
import type { Services } from "../../runtime/services.js";
import type { Stored } from "../../storage/documentTable.js";
import { markCommitted } from "./emailOutcome.js";

export function gatedMessage(bytes: Buffer, commit: () => Promise<void>): Readable {
  let pushed = false;
  let committing = false;
  return new Readable({
    read() {
      if (!pushed) {
        pushed = true;
        this.push(bytes);
        return;
      }
      // Asked for more after every byte was handed over: only the end is left.
      if (committing) return;
      committing = true;
      commit().then(
        () => this.push(null),
        (err: unknown) => this.destroy(err instanceof Error ? err : new Error(String(err))),
      );
    },
  });
}

export class AttemptCommit {
  /** The email as `sending`, once the commit write landed. */
  committed: Stored<EmailActivity> | undefined;
  /** Why the commit failed. Kept here because nodemailer rewrites the code of a stream's error. */
  failure: { lostRace: boolean; err: unknown } | undefined;
  private endReleased = false;
  private sessionFailed = false;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly services: Services,
    private readonly stored: Stored<EmailActivity>,
    /** Renews the mailbox lease (and slot): a worker that lost it must not commit. */
    private readonly renew: () => Promise<boolean>,
  ) {}

  message(bytes: Buffer): Readable {
    return gatedMessage(bytes, () => (this.inFlight = this.commit()));
  }

  private async commit(): Promise<void> {
    let held: boolean;
    try {
      held = await this.renew();
    } catch (err) {
      // Storage failed the renewal: no commit, so the end of data must never go out either.
      this.failure = { lostRace: false, err };
      throw new Error("the mailbox lease could not be renewed before the end of data");
    }
    if (!held) {
      this.failure = { lostRace: true, err: undefined };
      throw new Error("the mailbox lease was lost before the end of data");
    }
    try {
      const { doc, etag } = this.stored;
      this.committed = await this.services.emails.replace(doc, markCommitted(doc, this.services.clock.now()), etag);
    } catch (err) {
      this.failure = { lostRace: isAppError(err) && (err.code === "PRECONDITION_FAILED" || err.code === "NOT_FOUND"), err };
      throw new Error("the commit write failed");
    }
    if (this.sessionFailed) throw new Error("the session failed while the commit was written");
    this.endReleased = true;
  }

  /**
   * For the session's failure: waits for a commit write still on its way and tells whether the
   * end of data may have gone out (it cannot have when the failure came first).
   */
  async afterSessionFailure(): Promise<boolean> {
    const endMayBeOut = this.endReleased;
    this.sessionFailed = true;
    await this.inFlight?.catch(() => undefined);
    return endMayBeOut;
  }
}
