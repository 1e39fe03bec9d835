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
import { boundedKey, odataString, rowKeyPrefixFilter, storageError } from "../../storage/documentTable.js";
import type { MailboxStats } from "../../domain/mailbox.js";
import { isParked } from "./reconsider.js";

export type MarkerOutcome = "received" | "duplicate" | "skipped" | "quarantined" | "noMatch";

export interface Marker {
  outcome: MarkerOutcome;
  emailId: string | null;
  /** May be deleted from the server when the mailbox deletes after processing. */
  deletable: boolean;
  /** Skipped before the cut-off: the effective cut-off (ISO) that skipped it (reconsider.ts). */
  cutoff?: string;
  /** A forwarded message filed nowhere yet: looked at this many times, again from `retryAt`. */
  retryAt?: string;
  attempts?: number;
}

export type IncomingCounts = Pick<MailboxStats, "received" | "skipped" | "quarantined">;

interface MarkerEntity extends Marker {
  partitionKey: string;
  rowKey: string;
  etag?: string;
  [k: string]: unknown;
}

/** What the checkpoint blob remembers: settled UIDLs, and parked ones with their markers. */
export interface SeenState {
  seen: Set<string>;
  parked: Map<string, Marker>;
}

/** `markers`: how many markers were ever written (absent in rows written before it was kept). */
type CountersEntity = IncomingCounts & { partitionKey: string; rowKey: string; markers?: number; [k: string]: unknown };

const ZERO: IncomingCounts = { received: 0, skipped: 0, quarantined: 0 };

/** What one marker adds to the counters. */
export function countsOf(outcome: MarkerOutcome): IncomingCounts {
  return {
    received: outcome === "received" ? 1 : 0,
    skipped: outcome === "skipped" || outcome === "noMatch" ? 1 : 0,
    quarantined: outcome === "quarantined" ? 1 : 0,
  };
}

/** What replacing marker `before` by `after` changes in the counters (a message counts once, as what it is now). */
export function countsMoved(before: MarkerOutcome, after: MarkerOutcome): IncomingCounts {
  const b = countsOf(before);
  const a = countsOf(after);
  return { received: a.received - b.received, skipped: a.skipped - b.skipped, quarantined: a.quarantined - b.quarantined };
}

const plus = (x: IncomingCounts, y: IncomingCounts): IncomingCounts =>
  ({ received: x.received + y.received, skipped: x.skipped + y.skipped, quarantined: x.quarantined + y.quarantined });

/** The marker as a table entity: optional fields only when set (a table row has no "undefined"). */
function entityOf(pk: string, rowKey: string, m: Marker): MarkerEntity {
  return {
    partitionKey: pk, rowKey, outcome: m.outcome, emailId: m.emailId ?? "", deletable: m.deletable,
    ...(m.cutoff === undefined ? {} : { cutoff: m.cutoff }),
    ...(m.retryAt === undefined ? {} : { retryAt: m.retryAt }),
    ...(m.attempts === undefined ? {} : { attempts: m.attempts }),
  };
}

function markerOf(e: MarkerEntity): Marker {
  return {
    outcome: e.outcome, emailId: e.emailId || null, deletable: e.deletable,
    ...(typeof e.cutoff === "string" ? { cutoff: e.cutoff } : {}),
    ...(typeof e.retryAt === "string" ? { retryAt: e.retryAt } : {}),
    ...(typeof e.attempts === "number" ? { attempts: e.attempts } : {}),
  };
}

const sameSet = (a: readonly string[], b: readonly string[]): boolean => {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return set.size === b.length && b.every((x) => set.has(x));
};

const sortedEntries = (o: Record<string, Marker>): [string, Marker][] => Object.entries(o).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));

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
/** Rows a range query returns per page (Table Storage's maximum). */
const QUERY_PAGE_ROWS = 1000;
/** Markers per transaction: an entity-group transaction holds 100 rows, one is the counters row. */
export const MARKERS_PER_TRANSACTION = 99;

export class IncomingCheckpoint {
  private countersEtag: string | undefined;
  private counts: IncomingCounts | undefined;
  private tail: Promise<void> = Promise.resolve();
  /** The checkpoint as loaded from (or last written to) the blob in this maildrop's scope. */
  private stored: { uids: string[]; parked: Record<string, Marker> } | undefined;
  /** Markers ever written in this mailbox (kept on the counters row): how long a range query over them is. */
  private written = 0;

  constructor(
    private readonly table: TableClient,
    private readonly raw: RawStore,
    private readonly mailboxId: string,
    private readonly scope: string,
  ) {}

  /**
   * The UIDLs settled in this maildrop, and the parked ones (reconsider.ts) with their markers.
   * A checkpoint of another maildrop counts for nothing.
   */
  async loadSeen(): Promise<SeenState> {
    const doc = await this.raw.readJson<{ uids: string[]; scope?: string; parked?: Record<string, Marker> }>(checkpointBlob(this.mailboxId));
    // A checkpoint written before scopes existed is adopted by the maildrop polled now.
    if (!doc || (doc.value.scope !== undefined && doc.value.scope !== this.scope)) return { seen: new Set(), parked: new Map() };
    if (doc.value.scope === this.scope) this.stored = { uids: doc.value.uids, parked: doc.value.parked ?? {} };
    return { seen: new Set(doc.value.uids), parked: new Map(Object.entries(doc.value.parked ?? {})) };
  }

  /**
   * Writes the checkpoint, unless it holds exactly what was loaded: a poll that found nothing new
   * (most polls) then costs no blob write.
   */
  async saveSeen(uids: Iterable<string>, parked: ReadonlyMap<string, Marker> = new Map()): Promise<void> {
    const next = { uids: [...uids], parked: Object.fromEntries(parked) };
    if (this.stored && sameSet(this.stored.uids, next.uids) && JSON.stringify(sortedEntries(this.stored.parked)) === JSON.stringify(sortedEntries(next.parked))) return;
    await this.raw.writeJson(checkpointBlob(this.mailboxId), { scope: this.scope, ...next });
    this.stored = next;
  }

  async marker(uid: string): Promise<Marker | undefined> {
    return (await this.read(uid))?.marker;
  }

  private async read(uid: string): Promise<{ marker: Marker; etag: string | undefined } | undefined> {
    try {
      const e = await this.table.getEntity<MarkerEntity>(partition(this.mailboxId), markerKey(this.scope, uid));
      return { marker: markerOf(e), etag: e.etag };
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return undefined;
      throw storageError(err);
    }
  }

  /**
   * The markers of `uids` (absent ones left out), in whichever costs fewer requests: point reads
   * (a bounded number at a time) when there are few, else one range query over the maildrop's
   * markers. The counters say how many markers were ever written (each counts once), which
   * bounds how long that range is, deleted mail's markers included. A fresh 200-message mailbox or
   * a 2,000-message backlog costs a page or two, not a read per UIDL; a mailbox with a long history
   * and three new messages costs three reads, not a scan of its history.
   */
  async markers(uids: readonly string[], initial: IncomingCounts): Promise<Map<string, Marker>> {
    if (uids.length === 0) return new Map();
    await this.counters(initial);
    const pages = Math.max(1, Math.ceil(this.written / QUERY_PAGE_ROWS));
    if (uids.length > pages) return this.markersByRange(uids);
    const found = new Map<string, Marker>();
    for (let i = 0; i < uids.length; i += READ_CONCURRENCY) {
      const slice = uids.slice(i, i + READ_CONCURRENCY);
      const got = await Promise.all(slice.map((uid) => this.marker(uid)));
      got.forEach((m, j) => { if (m) found.set(slice[j] ?? "", m); });
    }
    return found;
  }

  private async markersByRange(uids: readonly string[]): Promise<Map<string, Marker>> {
    const wanted = new Map(uids.map((uid) => [markerKey(this.scope, uid), uid]));
    const filter = `PartitionKey eq '${odataString(partition(this.mailboxId))}' and ${rowKeyPrefixFilter(markerKey(this.scope, ""))}`;
    const found = new Map<string, Marker>();
    try {
      const rows = this.table.listEntities<MarkerEntity>({ queryOptions: { filter } });
      for await (const page of rows.byPage({ maxPageSize: QUERY_PAGE_ROWS })) {
        for (const e of page) {
          const uid = wanted.get(e.rowKey);
          if (uid !== undefined) found.set(uid, markerOf(e));
        }
      }
    } catch (err) {
      throw storageError(err);
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
      // Before the marker count was kept, every counted outcome had a marker (duplicates did not count).
      this.written = typeof e.markers === "number" ? e.markers : e.received + e.skipped + e.quarantined;
    } catch (err) {
      if (!(err instanceof RestError && err.statusCode === 404)) throw storageError(err);
      this.countersEtag = undefined;
      this.counts = { ...initial };
      this.written = 0;
    }
    return this.counts;
  }

  /**
   * Writes the marker and adds its count in one transaction. A marker that already exists (a
   * message processed twice by racing workers) changes nothing: it was counted when it was written.
   */
  async mark(uid: string, marker: Marker, initial: IncomingCounts): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const pk = partition(this.mailboxId);
      try {
        await this.commit([["create", entityOf(pk, markerKey(this.scope, uid), marker)]], countsOf(marker.outcome), initial);
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

  /**
   * Writes several markers and their counts in as few transactions as fit (MARKERS_PER_TRANSACTION
   * each). A transaction is all or nothing: when one of its markers exists already (a racing
   * worker, or an attempt that died before its checkpoint), its markers are written one by one
   * instead, so each is still counted exactly once.
   */
  async markMany(entries: readonly { uid: string; marker: Marker }[], initial: IncomingCounts): Promise<void> {
    const pk = partition(this.mailboxId);
    for (let i = 0; i < entries.length; i += MARKERS_PER_TRANSACTION) {
      const chunk = entries.slice(i, i + MARKERS_PER_TRANSACTION);
      const add = chunk.reduce((sum, e) => plus(sum, countsOf(e.marker.outcome)), ZERO);
      try {
        await this.commit(chunk.map((e): TransactionAction => ["create", entityOf(pk, markerKey(this.scope, e.uid), e.marker)]), add, initial);
      } catch (err) {
        const status = err instanceof RestError ? err.statusCode : undefined;
        if (status !== 409 && status !== 412) throw storageError(err);
        this.counts = undefined;
        for (const e of chunk) await this.mark(e.uid, e.marker, initial);
      }
    }
  }

  /**
   * Settles a parked marker (reconsider.ts) as `marker`, moving its count in the same transaction:
   * a skipped message filed later counts as received and no longer as skipped. Returns the marker
   * as it now stands and what the counters moved by. A marker that is no longer parked was settled
   * by an earlier attempt (it died before its checkpoint): it stays as it is, whatever this attempt
   * found, and nothing is counted twice.
   */
  async settle(uid: string, marker: Marker, initial: IncomingCounts): Promise<{ marker: Marker; moved: IncomingCounts }> {
    for (let attempt = 0; ; attempt++) {
      const current = await this.read(uid);
      if (!current) {
        await this.mark(uid, marker, initial);
        return { marker, moved: countsOf(marker.outcome) };
      }
      if (!isParked(current.marker)) return { marker: current.marker, moved: ZERO };
      const moved = countsMoved(current.marker.outcome, marker.outcome);
      const pk = partition(this.mailboxId);
      try {
        await this.commit([["update", entityOf(pk, markerKey(this.scope, uid), marker), "Replace", { etag: current.etag ?? "*" }]], moved, initial);
        return { marker, moved };
      } catch (err) {
        const status = err instanceof RestError ? err.statusCode : undefined;
        // 412: the marker or the counters changed meanwhile (409: the counters row was created). Decide again.
        if ((status === 409 || status === 412) && attempt < 5) {
          this.counts = undefined;
          continue;
        }
        throw storageError(err);
      }
    }
  }

  /**
   * One entity-group transaction: the marker actions and the counters moved by `add`. Commits of
   * one checkpoint run one after another (messages are processed several at a time): they all
   * change the counters row, so concurrent ones would only refuse each other's ETag.
   */
  private commit(markerActions: TransactionAction[], add: IncomingCounts, initial: IncomingCounts): Promise<void> {
    const run = this.tail.then(async () => {
      const after = plus(await this.counters(initial), add);
      const created = markerActions.filter((a) => a[0] === "create").length;
      const counters: CountersEntity = { partitionKey: partition(this.mailboxId), rowKey: COUNTERS_KEY, ...after, markers: this.written + created };
      const result = await this.table.submitTransaction([
        ...markerActions,
        this.countersEtag === undefined ? ["create", counters] : ["update", counters, "Replace", { etag: this.countersEtag }],
      ]);
      this.counts = after;
      this.written += created;
      this.countersEtag = result.getResponseForEntity(COUNTERS_KEY)?.etag ?? (await this.reloadEtag());
    });
    this.tail = run.catch(() => {});
    return run;
  }

  private async reloadEtag(): Promise<string | undefined> {
    this.counts = undefined;
    const counts = await this.counters(ZERO);
    this.counts = counts;
    return this.countersEtag;
  }
}
