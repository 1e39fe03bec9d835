/**
 * @module The due index: which mailboxes need work, ordered by when. A scheduler tick reads only
 * the rows that are due (one range query per shard), never every mailbox.
 *
 * Layout (decision 0028): each direction is spread over DUE_SHARDS partitions
 * `due|<direction>|<shard, 2 hex digits>`, the shard a hash of the mailbox id, so no partition
 * carries the whole organisation and a tick's claims spread over many partitions. A mailbox's rows
 * all live in its shard, so every change of them is one entity-group transaction:
 *   `t|<dueAt ms, 13 digits>|<mailboxId>`  an entry; a range read below `t|<now>` finds what is due
 *   `m|<mailboxId>`                          the pointer to the mailbox's one current entry
 * Both carry `every`, the mailbox's polling interval in minutes once a worker has told the index
 * (decision 0033), so a claim knows where to move the entry without reading the mailbox.
 * Invariant, kept by every transaction here: a mailbox has either no rows, or one pointer and the
 * one entry it names. So an entry that still exists is the one its pointer names, and a claim needs
 * no pointer read: it deletes the entry, writes the next one and repoints the pointer in one
 * transaction, which fails as a whole when another tick (or a schedule/remove) took the entry
 * first. Overlapping ticks (or two instances) therefore enqueue each mailbox once.
 *
 * Before decision 0028 a direction's rows were all in one partition `due|<direction>` (LEGACY).
 * The tick moves the due ones into the shards (migrateLegacy) until that partition is empty.
 */
import { RestError, type TableClient, type TransactionAction } from "@azure/data-tables";
import { encodeKey, storageError } from "../storage/documentTable.js";
import { bucketOfKey } from "../storage/emailPartitions.js";

export type DueDirection = "incoming" | "outgoing";

/** Partitions per direction (decision 0028: 16 keep each under Azure's 2,000 entities/s at 100,000 due a minute). */
export const DUE_SHARDS = 16;
/** At most this many operations in one entity-group transaction (Table Storage's limit). */
const BATCH_OPS = 100;
/** Rows a range query returns per request (Table Storage's most). */
const PAGE_ROWS = 1000;
/** Legacy due entries moved into the shards at once. */
const MIGRATE_IN_FLIGHT = 16;

export interface DueEntry {
  rowKey: string;
  mailboxId: string;
  dueAt: Date;
  /**
   * The mailbox's polling interval in minutes as the index last heard it (decision 0033): a claim
   * moves the entry this far, so the tick reads no mailbox or profile. Absent: the default.
   */
  every?: number;
}

/** What a tick does with a due entry: move it to `nextAt` (a claim), or drop the mailbox from the index. */
export type DueSettlement = { entry: DueEntry; nextAt: Date } | { entry: DueEntry; remove: true };

interface PointerEntity { partitionKey: string; rowKey: string; entryRowKey: string; every?: number }
interface EntryEntity { rowKey?: string; every?: number }

/** The polling interval a claim uses for an entry that carries none (a profile's default, admin/profiles.ts). */
export const DEFAULT_EVERY_MINUTES = 5;
/** `{ every }` when it is known, else nothing: an absent property, not a null one. */
const everyOf = (every: number | undefined): { every?: number } => (every === undefined ? {} : { every });

const pad = (ms: number): string => String(Math.max(0, Math.floor(ms))).padStart(13, "0");
const entryKey = (at: Date, mailboxId: string): string => `t|${pad(at.getTime())}|${encodeKey(mailboxId)}`;
const pointerKey = (mailboxId: string): string => `m|${encodeKey(mailboxId)}`;

function parseEntry(rowKey: string, every?: number): DueEntry {
  const [, ms, id] = rowKey.split("|");
  return { rowKey, dueAt: new Date(Number(ms)), mailboxId: decodeURIComponent((id ?? "").replace(/\$/g, "%")), ...everyOf(every) };
}

/** The shard of a mailbox (the same for both directions). */
export const dueShardOf = (mailboxId: string): number => bucketOfKey(encodeKey(mailboxId), DUE_SHARDS);
export const duePartition = (direction: DueDirection, shard: number): string => `due|${direction}|${shard.toString(16).padStart(2, "0")}`;
/** The one partition of a direction before decision 0028. */
export const legacyDuePartition = (direction: DueDirection): string => `due|${direction}`;
const dueFilter = (pk: string, now: Date): string => `PartitionKey eq '${pk}' and RowKey ge 't|' and RowKey lt 't|${pad(now.getTime() + 1)}'`;

const lostRace = (err: unknown): boolean => err instanceof RestError && [404, 409, 412].includes(err.statusCode ?? 0);

export class DueIndex {
  /** Directions whose legacy partition this process has seen empty (it is never written again). */
  private readonly legacyEmpty = new Set<DueDirection>();

  constructor(private readonly client: TableClient) {}

  private partitionOf(direction: DueDirection, mailboxId: string): string {
    return duePartition(direction, dueShardOf(mailboxId));
  }

  private async pointerIn(pk: string, mailboxId: string): Promise<(PointerEntity & { etag: string }) | undefined> {
    try {
      return await this.client.getEntity<PointerEntity>(pk, pointerKey(mailboxId));
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return undefined;
      throw storageError(err);
    }
  }

  /**
   * Makes the mailbox due no later than `at` (an earlier entry stays). With `exactly`, moves it to
   * `at` even when that is later. The entry keeps the polling interval the index holds for it.
   */
  async schedule(direction: DueDirection, mailboxId: string, at: Date, exactly = false): Promise<void> {
    const next = entryKey(at, mailboxId);
    await this.move(direction, mailboxId, (ptr) =>
      ptr && (ptr.entryRowKey === next || (!exactly && ptr.entryRowKey < next)) ? undefined : { at, every: ptr?.every });
  }

  /**
   * Records the mailbox's polling interval (minutes), when the index holds another (the worker
   * found the profile's interval changed, decision 0033). An entry in the future, which a claim
   * placed at the old interval, moves by the difference; one due already stays where it is.
   * Nothing happens for a mailbox that is not in the index.
   */
  async setEvery(direction: DueDirection, mailboxId: string, every: number, now: Date): Promise<void> {
    await this.move(direction, mailboxId, (ptr) => {
      const held = ptr?.every ?? DEFAULT_EVERY_MINUTES;
      if (!ptr || held === every) return undefined;
      const at = parseEntry(ptr.entryRowKey).dueAt.getTime();
      return { at: new Date(at > now.getTime() ? Math.max(now.getTime(), at + (every - held) * 60_000) : at), every };
    });
  }

  /**
   * Reads the mailbox's pointer, asks `target` where its entry should be (undefined: where it is),
   * and moves it there in one transaction; read and tried again when a concurrent change wins.
   */
  private async move(direction: DueDirection, mailboxId: string, target: (ptr: (PointerEntity & { etag: string }) | undefined) => { at: Date; every: number | undefined } | undefined): Promise<void> {
    const pk = this.partitionOf(direction, mailboxId);
    for (let attempt = 0; attempt < 5; attempt++) {
      const ptr = await this.pointerIn(pk, mailboxId);
      const to = target(ptr);
      if (!to) return;
      if (await this.trySubmit(moveActions(pk, mailboxId, ptr, entryKey(to.at, mailboxId), to.every))) return;
    }
    throw storageError(new Error("due index: too many concurrent changes"));
  }

  /** Removes the mailbox from the index (it is not eligible; a state change will schedule it again). */
  async remove(direction: DueDirection, mailboxId: string): Promise<void> {
    const pk = this.partitionOf(direction, mailboxId);
    const ptr = await this.pointerIn(pk, mailboxId);
    if (!ptr) return;
    await this.trySubmit(removeActions(pk, ptr.entryRowKey, mailboxId));
  }

  /**
   * Entries due at or before `now`, oldest first, at most `limit`. The shards are read in
   * parallel (one range query each, 1,000 rows a page) and merged.
   */
  async due(direction: DueDirection, now: Date, limit: number): Promise<DueEntry[]> {
    let read = 0;
    const perShard = await Promise.all(Array.from({ length: DUE_SHARDS }, async (_, shard) => {
      const out: DueEntry[] = [];
      for await (const page of this.duePages(direction, shard, now, Math.min(limit, PAGE_ROWS))) {
        out.push(...page);
        read += page.length;
        if (read >= limit) break;
      }
      return out;
    }));
    return perShard.flat().sort((a, b) => (a.rowKey < b.rowKey ? -1 : a.rowKey > b.rowKey ? 1 : 0)).slice(0, limit);
  }

  /**
   * One shard's entries due at or before `now`, oldest first, a page (one request) at a time: the
   * tick works through each page before it asks for the next, so it holds at most a page per shard.
   */
  duePages(direction: DueDirection, shard: number, now: Date, pageRows = PAGE_ROWS): AsyncGenerator<DueEntry[]> {
    return this.pagesIn(duePartition(direction, shard), now, pageRows);
  }

  /** The entries of partition `pk` due at or before `now`, a page at a time (a shard's or the legacy one's). */
  private async *pagesIn(pk: string, now: Date, pageRows: number): AsyncGenerator<DueEntry[]> {
    const filter = dueFilter(pk, now);
    const pages = this.client.listEntities<EntryEntity>({ queryOptions: { filter, select: ["RowKey", "every"] } }).byPage({ maxPageSize: pageRows });
    for (;;) {
      let next: IteratorResult<EntryEntity[]>;
      try {
        next = await pages.next();
      } catch (err) {
        throw storageError(err);
      }
      if (next.done) return;
      if (next.value.length > 0) yield next.value.map((e) => parseEntry(e.rowKey!, typeof e.every === "number" ? e.every : undefined));
    }
  }

  /**
   * Takes a due entry and moves it to `nextAt` in one transaction. False when another tick took it
   * first (or it is stale, in which case the stale row is dropped).
   */
  async claim(direction: DueDirection, entry: DueEntry, nextAt: Date): Promise<boolean> {
    return (await this.settle(direction, [{ entry, nextAt }]))[0] ?? false;
  }

  /**
   * Claims (or removes) many due entries, one transaction per shard and up to 100 operations
   * (33 claims), in order. When a transaction fails (another tick took one of its entries, so it
   * failed as a whole), its entries are settled one by one. Returns, per settlement, whether this
   * caller took the entry.
   */
  async settle(direction: DueDirection, settlements: readonly DueSettlement[]): Promise<boolean[]> {
    const done: boolean[] = settlements.map(() => false);
    const groups = new Map<string, { index: number; actions: TransactionAction[] }[]>();
    settlements.forEach((s, index) => {
      const pk = this.partitionOf(direction, s.entry.mailboxId);
      const actions = settlementActions(pk, s);
      if (actions.length === 0) done[index] = true; // already where it should be
      else groups.set(pk, [...(groups.get(pk) ?? []), { index, actions }]);
    });
    await Promise.all([...groups.entries()].map(async ([pk, items]) => {
      for (const batch of packBatches(items)) {
        // Refused as a whole (400) too: one by one, each entry stands or falls on its own.
        if (await this.trySubmit(batch.flatMap((i) => i.actions), batch.length > 1)) {
          for (const i of batch) done[i.index] = true;
          continue;
        }
        await Promise.all(batch.map(async (i) => {
          // A batch of one already failed on its own.
          if (batch.length > 1 && (await this.trySubmit(i.actions))) done[i.index] = true;
          else await this.dropIfStale(pk, settlements[i.index]!.entry);
        }));
      }
    }));
    return done;
  }

  /** After a lost claim: an entry its pointer does not name (the invariant broken by hand or by an old bug) is dropped. */
  private async dropIfStale(pk: string, entry: DueEntry): Promise<void> {
    const ptr = await this.pointerIn(pk, entry.mailboxId);
    if (!ptr || ptr.entryRowKey !== entry.rowKey) await this.trySubmit([["delete", { partitionKey: pk, rowKey: entry.rowKey }]]);
  }

  /** When the mailbox is next due, if it is in the index (its shard, else the legacy partition). */
  async nextDue(direction: DueDirection, mailboxId: string): Promise<Date | undefined> {
    const ptr = (await this.pointerIn(this.partitionOf(direction, mailboxId), mailboxId)) ??
      (this.legacyEmpty.has(direction) ? undefined : await this.pointerIn(legacyDuePartition(direction), mailboxId));
    return ptr ? parseEntry(ptr.entryRowKey).dueAt : undefined;
  }

  /**
   * Moves legacy entries due by `now` (at most `limit`) into their shards: the shard gets the
   * entry only when it has none for the mailbox (one written since keeps its time, so a mailbox
   * never has two), then the legacy pair is deleted. Either step may be repeated after a crash.
   * A mailbox is never enqueued from the legacy partition, only from its shard, so it is
   * enqueued once. Returns how many it moved; once this process has found the partition empty it
   * costs nothing.
   */
  async migrateLegacy(direction: DueDirection, now: Date, limit: number): Promise<number> {
    if (this.legacyEmpty.has(direction)) return 0;
    const pk = legacyDuePartition(direction);
    const rows: DueEntry[] = [];
    for await (const page of this.pagesIn(pk, now, Math.min(limit, PAGE_ROWS))) {
      rows.push(...page);
      if (rows.length >= limit) break;
    }
    try {
      if (rows.length === 0) {
        const any = await this.client.listEntities({ queryOptions: { filter: `PartitionKey eq '${pk}'`, select: ["RowKey"] } }).byPage({ maxPageSize: 1 }).next();
        if (any.done || any.value.length === 0) this.legacyEmpty.add(direction);
        return 0;
      }
    } catch (err) {
      throw storageError(err);
    }
    for (let i = 0; i < rows.length; i += MIGRATE_IN_FLIGHT) {
      await Promise.all(rows.slice(i, i + MIGRATE_IN_FLIGHT).map(async (entry) => {
        const shard = this.partitionOf(direction, entry.mailboxId);
        await this.trySubmit([
          ["create", { partitionKey: shard, rowKey: entry.rowKey, ...everyOf(entry.every) }],
          ["create", { partitionKey: shard, rowKey: pointerKey(entry.mailboxId), entryRowKey: entry.rowKey, ...everyOf(entry.every) }],
        ]);
        if (!(await this.trySubmit(removeActions(pk, entry.rowKey, entry.mailboxId)))) await this.dropIfStale(pk, entry);
      }));
    }
    return rows.length;
  }

  /** Submits a transaction; a lost race (404, 409, 412; with `refusedToo` 400 as well) is false, anything else throws. */
  private async trySubmit(actions: TransactionAction[], refusedToo = false): Promise<boolean> {
    try {
      await this.client.submitTransaction(actions);
      return true;
    } catch (err) {
      if (lostRace(err) || (refusedToo && err instanceof RestError && err.statusCode === 400)) return false;
      throw storageError(err);
    }
  }
}

/**
 * Moves the mailbox's entry to row `next` with interval `every`: a new entry and pointer when it
 * has none; else the old entry deleted (or rewritten, when `next` is the same row) and the pointer
 * replaced under its ETag, so a concurrent change fails the whole transaction.
 */
function moveActions(pk: string, mailboxId: string, ptr: (PointerEntity & { etag: string }) | undefined, next: string, every: number | undefined): TransactionAction[] {
  const pointer = { partitionKey: pk, rowKey: pointerKey(mailboxId), entryRowKey: next, ...everyOf(every) };
  if (!ptr) return [["create", { partitionKey: pk, rowKey: next, ...everyOf(every) }], ["create", pointer]];
  const entry: TransactionAction = ptr.entryRowKey === next
    ? ["update", { partitionKey: pk, rowKey: next, ...everyOf(every) }, "Replace"]
    : ["create", { partitionKey: pk, rowKey: next, ...everyOf(every) }];
  const actions: TransactionAction[] = [entry];
  if (ptr.entryRowKey !== next) actions.push(["delete", { partitionKey: pk, rowKey: ptr.entryRowKey }]);
  actions.push(["update", pointer, "Replace", { etag: ptr.etag }]);
  return actions;
}

function removeActions(pk: string, entryRowKey: string, mailboxId: string): TransactionAction[] {
  return [
    ["delete", { partitionKey: pk, rowKey: entryRowKey }],
    ["delete", { partitionKey: pk, rowKey: pointerKey(mailboxId) }],
  ];
}

/**
 * The transaction of one settlement, without reading the pointer: by the invariant, the entry
 * exists only while the pointer names it, so deleting the entry in the same transaction is the
 * check (it fails with 404 once anyone else moved or removed it).
 */
function settlementActions(pk: string, s: DueSettlement): TransactionAction[] {
  const { entry } = s;
  if ("remove" in s) return removeActions(pk, entry.rowKey, entry.mailboxId);
  const next = entryKey(s.nextAt, entry.mailboxId);
  if (next === entry.rowKey) return [];
  return [
    ["delete", { partitionKey: pk, rowKey: entry.rowKey }],
    ["create", { partitionKey: pk, rowKey: next, ...everyOf(entry.every) }],
    ["update", { partitionKey: pk, rowKey: pointerKey(entry.mailboxId), entryRowKey: next, ...everyOf(entry.every) }, "Replace"],
  ];
}

/** Consecutive items in transactions of at most BATCH_OPS operations, no row twice in one. */
function packBatches<T extends { actions: TransactionAction[] }>(items: readonly T[]): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let ops = 0;
  let rows = new Set<string>();
  for (const item of items) {
    const keys = item.actions.map(([, e]) => e.rowKey);
    if (ops + item.actions.length > BATCH_OPS || keys.some((k) => rows.has(k))) {
      batches.push(current);
      current = [];
      ops = 0;
      rows = new Set();
    }
    current.push(item);
    ops += item.actions.length;
    for (const k of keys) rows.add(k);
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
