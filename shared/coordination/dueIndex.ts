/**
 * @module The due index: which mailboxes need work, ordered by when. A scheduler tick reads only
 * the rows that are due (one range query), never every mailbox.
 *
 * Layout, all in one partition per direction so every change is one entity-group transaction:
 *   `t|<dueAt ms, 13 digits>|<mailboxId>`  an entry; a range read below `t|<now>` finds what is due
 *   `m|<mailboxId>`                          the pointer to the mailbox's one current entry
 * Claiming an entry deletes it and writes the next one in the same transaction, so when two ticks
 * overlap (or two instances tick at once) exactly one of them wins each mailbox.
 */
import { RestError, type TableClient, type TransactionAction } from "@azure/data-tables";
import { encodeKey, storageError } from "../storage/documentTable.js";

export type DueDirection = "incoming" | "outgoing";

export interface DueEntry {
  rowKey: string;
  mailboxId: string;
  dueAt: Date;
}

interface PointerEntity { partitionKey: string; rowKey: string; entryRowKey: string }

const pad = (ms: number): string => String(Math.max(0, Math.floor(ms))).padStart(13, "0");
const entryKey = (at: Date, mailboxId: string): string => `t|${pad(at.getTime())}|${encodeKey(mailboxId)}`;
const pointerKey = (mailboxId: string): string => `m|${encodeKey(mailboxId)}`;

function parseEntry(rowKey: string): DueEntry {
  const [, ms, id] = rowKey.split("|");
  return { rowKey, dueAt: new Date(Number(ms)), mailboxId: decodeURIComponent((id ?? "").replace(/\$/g, "%")) };
}

export class DueIndex {
  constructor(private readonly client: TableClient) {}

  private partition(direction: DueDirection): string {
    return `due|${direction}`;
  }

  private async pointer(direction: DueDirection, mailboxId: string): Promise<(PointerEntity & { etag: string }) | undefined> {
    try {
      return await this.client.getEntity<PointerEntity>(this.partition(direction), pointerKey(mailboxId));
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return undefined;
      throw storageError(err);
    }
  }

  /**
   * Makes the mailbox due no later than `at` (an earlier entry stays). With `exactly`, moves it to
   * `at` even when that is later.
   */
  async schedule(direction: DueDirection, mailboxId: string, at: Date, exactly = false): Promise<void> {
    const pk = this.partition(direction);
    for (let attempt = 0; attempt < 5; attempt++) {
      const ptr = await this.pointer(direction, mailboxId);
      const next = entryKey(at, mailboxId);
      if (ptr && (ptr.entryRowKey === next || (!exactly && ptr.entryRowKey < next))) return;
      const actions: TransactionAction[] = [["create", { partitionKey: pk, rowKey: next }]];
      if (ptr) {
        actions.push(["delete", { partitionKey: pk, rowKey: ptr.entryRowKey }]);
        actions.push(["update", { partitionKey: pk, rowKey: pointerKey(mailboxId), entryRowKey: next }, "Replace", { etag: ptr.etag }]);
      } else {
        actions.push(["create", { partitionKey: pk, rowKey: pointerKey(mailboxId), entryRowKey: next }]);
      }
      if (await this.trySubmit(actions)) return;
    }
    throw storageError(new Error("due index: too many concurrent changes"));
  }

  /** Removes the mailbox from the index (it is not eligible; a state change will schedule it again). */
  async remove(direction: DueDirection, mailboxId: string): Promise<void> {
    const pk = this.partition(direction);
    const ptr = await this.pointer(direction, mailboxId);
    if (!ptr) return;
    await this.trySubmit([
      ["delete", { partitionKey: pk, rowKey: ptr.entryRowKey }],
      ["delete", { partitionKey: pk, rowKey: pointerKey(mailboxId) }],
    ]);
  }

  /** Entries due at or before `now`, oldest first, at most `limit`. */
  async due(direction: DueDirection, now: Date, limit: number): Promise<DueEntry[]> {
    const pk = this.partition(direction);
    const filter = `PartitionKey eq '${pk}' and RowKey ge 't|' and RowKey lt 't|${pad(now.getTime() + 1)}'`;
    const out: DueEntry[] = [];
    try {
      for await (const page of this.client.listEntities({ queryOptions: { filter, select: ["RowKey"] } }).byPage({ maxPageSize: Math.min(limit, 1000) })) {
        for (const e of page) {
          out.push(parseEntry(e.rowKey!));
          if (out.length >= limit) return out;
        }
      }
    } catch (err) {
      throw storageError(err);
    }
    return out;
  }

  /**
   * Takes a due entry and moves it to `nextAt` in one transaction. False when another tick took it
   * first (or it is stale: the mailbox has a newer entry, in which case the stale row is dropped).
   */
  async claim(direction: DueDirection, entry: DueEntry, nextAt: Date): Promise<boolean> {
    const pk = this.partition(direction);
    const ptr = await this.pointer(direction, entry.mailboxId);
    if (!ptr || ptr.entryRowKey !== entry.rowKey) {
      await this.trySubmit([["delete", { partitionKey: pk, rowKey: entry.rowKey }]]);
      return false;
    }
    const next = entryKey(nextAt, entry.mailboxId);
    if (next === entry.rowKey) return true;
    return this.trySubmit([
      ["delete", { partitionKey: pk, rowKey: entry.rowKey }],
      ["create", { partitionKey: pk, rowKey: next }],
      ["update", { partitionKey: pk, rowKey: pointerKey(entry.mailboxId), entryRowKey: next }, "Replace", { etag: ptr.etag }],
    ]);
  }

  /** When the mailbox is next due, if it is in the index. */
  async nextDue(direction: DueDirection, mailboxId: string): Promise<Date | undefined> {
    const ptr = await this.pointer(direction, mailboxId);
    return ptr ? parseEntry(ptr.entryRowKey).dueAt : undefined;
  }

  /** Submits a transaction; a lost race (404, 409, 412) is false, anything else throws. */
  private async trySubmit(actions: TransactionAction[]): Promise<boolean> {
    try {
      await this.client.submitTransaction(actions);
      return true;
    } catch (err) {
      if (err instanceof RestError && [404, 409, 412].includes(err.statusCode ?? 0)) return false;
      throw storageError(err);
    }
  }
}
