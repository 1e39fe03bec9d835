/**
 * @module What a mailbox has already processed, so a poll fetches only unseen messages, and how
 * many messages it took in, counted exactly once each.
 *
 * Three parts, all in the mailbox's partition of the coordination table plus one blob:
 *  - a marker row per (maildrop, UIDL), written right after the message's activity is durable
 *    (the truth, used for exactly-once);
 *  - a counters row, changed in the same entity-group transaction as each new marker, so a
 *    message is counted if and only if its marker exists, whatever crashes in between;
 *  - a checkpoint blob with the set of UIDLs that have markers and were still on the server at
 *    the last poll (the shortcut: an empty poll costs one blob read, no per-message calls).
 *
 * UIDLs are unique only within one maildrop (RFC 1939 §7): after a profile's host or port or a
 * mailbox's user name changes, the same UIDL names another message. So markers and the
 * checkpoint belong to a maildrop scope (host, port, user); a new scope starts afresh.
 */
import { createHash } from "node:crypto";
import { RestError, type TableClient, type TransactionAction } from "@azure/data-tables";
import type { RawStore } from "../../storage/rawStore.js";
import { boundedKey, storageError } from "../../storage/documentTable.js";
import type { MailboxStats } from "../../domain/mailbox.js";

export type MarkerOutcome = "received" | "duplicate" | "skipped" | "quarantined" | "noMatch";

export interface Marker {
  outcome: MarkerOutcome;
  emailId: string | null;
  /** May be deleted from the server when the mailbox deletes after processing. */
  deletable: boolean;
}

export type IncomingCounts = Pick<MailboxStats, "received" | "skipped" | "quarantined">;

interface MarkerEntity extends Marker {
  partitionKey: string;
  rowKey: string;
}

type CountersEntity = IncomingCounts & { partitionKey: string; rowKey: string; [k: string]: unknown };

/** What one marker adds to the counters. */
export function countsOf(outcome: MarkerOutcome): IncomingCounts {
  return {
    received: outcome === "received" ? 1 : 0,
    skipped: outcome === "skipped" || outcome === "noMatch" ? 1 : 0,
    quarantined: outcome === "quarantined" ? 1 : 0,
  };
}

/** The maildrop a UIDL belongs to: a short digest of host, port and login user. */
export function maildropScope(host: string, port: number, userName: string): string {
  return createHash("sha256").update(`${host.trim().toLowerCase()}\n${port}\n${userName}`).digest("hex").slice(0, 16);
}

const partition = (mailboxId: string): string => `seen|${mailboxId}`;
const checkpointBlob = (mailboxId: string): string => `state/incoming/${mailboxId}.json`;
// Row keys written before scopes were a bare encodeKey(uid), which never holds ":".
const markerKey = (scope: string, uid: string): string => `m:${scope}:${boundedKey(uid)}`;
const COUNTERS_KEY = "c:incoming";
/** Marker reads before the first RETR go out this many at a time. */
const READ_CONCURRENCY = 32;

export class IncomingCheckpoint {
  private countersEtag: string | undefined;
  private counts: IncomingCounts | undefined;

  constructor(
    private readonly table: TableClient,
    private readonly raw: RawStore,
    private readonly mailboxId: string,
    private readonly scope: string,
  ) {}

  /** The UIDLs processed in this maildrop. A checkpoint of another maildrop counts for nothing. */
  async loadSeen(): Promise<Set<string>> {
    const doc = await this.raw.readJson<{ uids: string[]; scope?: string }>(checkpointBlob(this.mailboxId));
    // A checkpoint written before scopes existed is adopted by the maildrop polled now.
    if (!doc || (doc.value.scope !== undefined && doc.value.scope !== this.scope)) return new Set();
    return new Set(doc.value.uids);
  }

  async saveSeen(uids: Iterable<string>): Promise<void> {
    await this.raw.writeJson(checkpointBlob(this.mailboxId), { scope: this.scope, uids: [...uids] });
  }

  async marker(uid: string): Promise<Marker | undefined> {
    try {
      const e = await this.table.getEntity<MarkerEntity>(partition(this.mailboxId), markerKey(this.scope, uid));
      return { outcome: e.outcome, emailId: e.emailId || null, deletable: e.deletable };
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return undefined;
      throw storageError(err);
    }
  }

  /** The markers of `uids` (absent ones left out), read a bounded number at a time. */
  async markers(uids: readonly string[]): Promise<Map<string, Marker>> {
    const found = new Map<string, Marker>();
    for (let i = 0; i < uids.length; i += READ_CONCURRENCY) {
      const slice = uids.slice(i, i + READ_CONCURRENCY);
      const got = await Promise.all(slice.map((uid) => this.marker(uid)));
      got.forEach((m, j) => { if (m) found.set(slice[j] ?? "", m); });
    }
    return found;
  }

  /** The counters as stored (the first time, seeded with `initial`: counts kept before counters existed). */
  async counters(initial: IncomingCounts): Promise<IncomingCounts> {
    if (this.counts) return this.counts;
    try {
      const e = await this.table.getEntity<CountersEntity>(partition(this.mailboxId), COUNTERS_KEY);
      this.countersEtag = e.etag;
      this.counts = { received: e.received, skipped: e.skipped, quarantined: e.quarantined };
    } catch (err) {
      if (!(err instanceof RestError && err.statusCode === 404)) throw storageError(err);
      this.countersEtag = undefined;
      this.counts = { ...initial };
    }
    return this.counts;
  }

  /**
   * Writes the marker and adds its count in one transaction. A marker that already exists (a
   * message processed twice by racing workers) changes nothing: it was counted when it was written.
   */
  async mark(uid: string, marker: Marker, initial: IncomingCounts): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const before = await this.counters(initial);
      const add = countsOf(marker.outcome);
      const after: IncomingCounts = {
        received: before.received + add.received, skipped: before.skipped + add.skipped, quarantined: before.quarantined + add.quarantined,
      };
      const pk = partition(this.mailboxId);
      const counters: CountersEntity = { partitionKey: pk, rowKey: COUNTERS_KEY, ...after };
      const actions: TransactionAction[] = [
        ["create", { partitionKey: pk, rowKey: markerKey(this.scope, uid), ...marker, emailId: marker.emailId ?? "" } satisfies MarkerEntity],
        this.countersEtag === undefined ? ["create", counters] : ["update", counters, "Replace", { etag: this.countersEtag }],
      ];
      try {
        const result = await this.table.submitTransaction(actions);
        this.counts = after;
        this.countersEtag = result.getResponseForEntity(COUNTERS_KEY)?.etag ?? (await this.reloadEtag());
        return;
      } catch (err) {
        const status = err instanceof RestError ? err.statusCode : undefined;
        // 409: the marker exists (already counted), or the counters row was created meanwhile;
        // 412: the counters changed meanwhile. Re-read and decide again.
        if ((status === 409 || status === 412) && attempt < 5) {
          this.counts = undefined;
          if (await this.marker(uid)) return;
          continue;
        }
        throw storageError(err);
      }
    }
  }

  private async reloadEtag(): Promise<string | undefined> {
    this.counts = undefined;
    const counts = await this.counters({ received: 0, skipped: 0, quarantined: 0 });
    this.counts = counts;
    return this.countersEtag;
  }
}
