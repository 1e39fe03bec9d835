/**
 * @module The overall deadline of a POP3 session, measured from the start of connect. The idle
 * and greeting timeouts restart on every byte, so on their own a server that drip-feeds one byte
 * a second keeps a session alive for ever; this clock never restarts and never pauses, not even
 * while the socket is paused for backpressure.
 */
import { performance } from "node:perf_hooks";
import { AppError } from "../errors.js";

/** setTimeout fires at once (with a warning) for anything above 2^31 - 1 ms, Infinity included. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A delay setTimeout honours: NaN and negatives become 0, huge values (Infinity) ~24.8 days. */
export function timerMs(ms: number): number {
  return Number.isNaN(ms) ? 0 : Math.min(Math.max(0, ms), MAX_TIMER_MS);
}

/** "540 s" or "300 ms", for messages. */
export function formatMs(ms: number): string {
  return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

export class SessionDeadline {
  private readonly at: number;
  /** Set when a timer found the deadline passed (timers may fire a fraction of a ms early). */
  private over = false;

  constructor(
    /** The whole budget, as configured (deadlineMs). */
    readonly ms: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.at = now() + ms;
  }

  /** Milliseconds left, 0 once passed. */
  remainingMs(): number {
    return this.over ? 0 : Math.max(0, this.at - this.now());
  }

  /**
   * For the timer that found the deadline passed: marks it so, and returns the error every pending
   * command and body in flight fails with.
   */
  expire(command: string | undefined): AppError {
    this.over = true;
    // "(greeting)" and "(connect)" name no command on the wire: "during the greeting".
    const during = command === undefined ? "between commands" : `during ${command.replace(/^\((.+)\)$/, "the $1")}`;
    return new AppError("CONNECTION_TIMEOUT", `The POP3 session passed its overall deadline of ${formatMs(this.ms)} ${during}.`, { command });
  }
}
