/**
 * @module The profile's maxConcurrentConnections, held across instances: N lease rows per scope,
 * one per allowed connection. The scope is the profile when it carries the credentials (every
 * mailbox logs in as the same account) and the mailbox otherwise, as Dynamics 365 counts it.
 */
import type { Lease, LeaseTable } from "./lease.js";
import type { Profile } from "../domain/profile.js";

export const slotScope = (profile: Profile, mailboxId: string): string =>
  profile.authenticateUsing === "profileCredentials" ? `profile:${profile.id}` : `mailbox:${mailboxId}`;

export class ConnectionSlots {
  constructor(private readonly leases: LeaseTable) {}

  /** One free slot of `limit` for `scope`, or undefined when all are taken. */
  async tryAcquire(scope: string, limit: number, durationMs: number): Promise<Lease | undefined> {
    // Start at a random slot so concurrent workers do not all contend for slot 0.
    const start = Math.floor(Math.random() * limit);
    for (let i = 0; i < limit; i++) {
      const slot = (start + i) % limit;
      const lease = await this.leases.tryAcquire(`slots|${scope}`, String(slot), durationMs);
      if (lease) return lease;
    }
    return undefined;
  }
}
