/**
 * @module Leases in Table Storage, shared by every instance: a row that one holder owns until it
 * expires. Taking one is a create (or an ETag-conditional update of an expired row), so two
 * workers racing for the same lease cannot both win. Expiry means a crashed holder never blocks
 * a mailbox for longer than the lease duration.
 */
import { RestError, type TableClient } from "@azure/data-tables";
import { randomUUID } from "node:crypto";
import type { Clock } from "../runtime/clock.js";
import { storageError, encodeKey } from "../storage/documentTable.js";

interface LeaseEntity {
  partitionKey: string;
  rowKey: string;
  holder: string;
  expiresAt: number;
}

export interface Lease {
  partitionKey: string;
  rowKey: string;
  holder: string;
  /** Extends the lease; false when it was lost (expired and taken by someone else). */
  renew(): Promise<boolean>;
  release(): Promise<void>;
}

export class LeaseTable {
  constructor(private readonly client: TableClient, private readonly clock: Clock) {}

  /** Takes the lease named (partition, key) for `durationMs`, or returns undefined when it is held. */
  async tryAcquire(partition: string, key: string, durationMs: number): Promise<Lease | undefined> {
    const rowKey = encodeKey(key);
    const holder = randomUUID();
    const expiresAt = (): number => this.clock.now().getTime() + durationMs;
    let etag: string | undefined;
    try {
      const created = await this.client.createEntity<LeaseEntity>({ partitionKey: partition, rowKey, holder, expiresAt: expiresAt() });
      etag = created.etag;
    } catch (err) {
      if (!(err instanceof RestError && err.statusCode === 409)) throw storageError(err);
      let current: LeaseEntity & { etag: string };
      try {
        current = await this.client.getEntity<LeaseEntity>(partition, rowKey);
      } catch (e) {
        if (e instanceof RestError && e.statusCode === 404) return this.tryAcquire(partition, key, durationMs);
        throw storageError(e);
      }
      if (current.expiresAt > this.clock.now().getTime()) return undefined;
      try {
        const res = await this.client.updateEntity<LeaseEntity>({ partitionKey: partition, rowKey, holder, expiresAt: expiresAt() }, "Replace", { etag: current.etag });
        etag = res.etag;
      } catch (e) {
        if (e instanceof RestError && (e.statusCode === 412 || e.statusCode === 404)) return undefined;
        throw storageError(e);
      }
    }
    const client = this.client;
    return {
      partitionKey: partition,
      rowKey,
      holder,
      async renew() {
        try {
          const res = await client.updateEntity<LeaseEntity>({ partitionKey: partition, rowKey, holder, expiresAt: expiresAt() }, "Replace", { etag: etag ?? "*" });
          etag = res.etag;
          return true;
        } catch (e) {
          if (e instanceof RestError && (e.statusCode === 412 || e.statusCode === 404)) return false;
          throw storageError(e);
        }
      },
      async release() {
        try {
          await client.deleteEntity(partition, rowKey, { etag: etag ?? "*" });
        } catch (e) {
          // Lost or already gone: nothing to release. Other failures leave it to expire.
          if (!(e instanceof RestError)) throw e;
        }
      },
    };
  }
}
