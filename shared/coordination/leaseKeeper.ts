/**
 * @module Keeps a lease alive by time while long work runs (one message can take minutes to
 * download), instead of renewing after every step: one Storage request per interval, not per
 * message. Losing the lease is noticed at the next check, so two workers never both go on.
 */
import { AppError } from "../errors.js";
import type { Lease } from "./lease.js";

export class LeaseKeeper {
  private lost = false;
  private inFlight: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;

  /** Renews `lease` every `everyMs` (a third of its duration leaves two chances before it expires). */
  constructor(private readonly lease: Lease, everyMs: number, onRenewError: (err: unknown) => void) {
    this.timer = setInterval(() => {
      if (this.inFlight || this.lost) return;
      this.inFlight = this.lease.renew()
        .then((held) => { if (!held) this.lost = true; }, onRenewError) // a failed renewal is retried next interval
        .finally(() => { this.inFlight = undefined; });
    }, everyMs);
    this.timer.unref();
  }

  /** Throws LEASE_HELD once another worker has taken the lease over. */
  assertHeld(): void {
    if (this.lost) throw new AppError("LEASE_HELD", "Another worker took over the mailbox (the lease expired).");
  }

  /** Stops renewing; waits for a renewal in flight, so a release after this uses the current lease. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.inFlight;
  }
}
