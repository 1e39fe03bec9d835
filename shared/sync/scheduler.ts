/**
 * @module The scheduler tick: reads only what the due index says is due and enqueues it. Claiming
 * an entry moves it forward in the same transaction, so overlapping ticks (or two instances)
 * enqueue it once.
 *
 * Cost per due mailbox (decisions 0028 and 0033): a third of a claim transaction's 100
 * operations, a 33rd of a queue message (a claimed chunk goes as one message) and a thousandth of
 * a range query. It reads no mailbox and no profile: a claim moves an incoming entry by the
 * polling interval the entry carries, and the worker, which reads the mailbox anyway, settles the
 * ones that turned out ineligible (leaveIndexWhenIneligible.ts) and corrects a changed interval.
 */
import { performance } from "node:perf_hooks";
import type { Direction } from "../domain/mailbox.js";
import type { Services } from "../runtime/services.js";
import { DEFAULT_EVERY_MINUTES, DUE_SHARDS, type DueEntry } from "../coordination/dueIndex.js";
import { MAX_DUE_PER_MESSAGE, queueOf, type DueItem } from "./dueMessage.js";

export { NOT_APPROVED_RECHECK_MS } from "./leaveIndexWhenIneligible.js";

/**
 * A tick starts no new work after this long, so it ends inside the default 60 s period even when
 * more is due than it can enqueue; the rest is still due, oldest first, at the next tick. There is
 * no cap on the count: memory holds at most a page (1,000 entries) per shard and direction.
 */
export const TICK_BUDGET_MS = 45_000;
/** Due mailboxes settled together: claimed in one transaction (3 operations each, 100 at most), sent as one message. */
const CHUNK = MAX_DUE_PER_MESSAGE;
/** Chunks in flight at once. */
const WORKERS = 8;
/** Legacy (single-partition) due entries a tick moves into the shards per direction. */
const LEGACY_PER_TICK = 5_000;
/** An outgoing entry comes back after this if the worker never reschedules it (it crashed). */
export const OUTGOING_SAFETY_MS = 10 * 60_000;

export interface TickResult {
  incoming: number;
  outgoing: number;
  /** Due entries read but left for the next tick because this one ran out of time (TICK_BUDGET_MS); more may be unread. */
  deferred: number;
}

/** Puts a mailbox in the due index for both directions now; its worker decides whether it is eligible. */
export async function scheduleMailbox(services: Services, mailboxId: string): Promise<void> {
  const now = services.clock.now();
  await Promise.all([services.due.schedule("incoming", mailboxId, now), services.due.schedule("outgoing", mailboxId, now)]);
}

/** Every mailbox due now (after an org-wide change such as approval no longer being required). */
export async function scheduleAllMailboxes(services: Services): Promise<number> {
  let token: string | undefined;
  let n = 0;
  do {
    const page = await services.repos.mailboxes.list({ top: 1000, continuationToken: token });
    for (const { doc } of page.items) await scheduleMailbox(services, doc.id);
    n += page.items.length;
    token = page.continuationToken ?? undefined;
  } while (token);
  return n;
}

/** Where a claim moves an entry, and what its message says of it. */
function claimOf(direction: Direction, entry: DueEntry, now: Date): { nextAt: Date; item: DueItem } {
  if (direction === "outgoing") return { nextAt: new Date(now.getTime() + OUTGOING_SAFETY_MS), item: { mailboxId: entry.mailboxId } };
  const every = entry.every ?? DEFAULT_EVERY_MINUTES;
  return { nextAt: new Date(now.getTime() + every * 60_000), item: { mailboxId: entry.mailboxId, every } };
}

/** Claims a chunk's entries in one transaction and sends the ones it took as one message. */
async function runChunk(services: Services, direction: Direction, chunk: DueEntry[], now: Date): Promise<number> {
  const claims = chunk.map((entry) => ({ entry, ...claimOf(direction, entry, now) }));
  const taken = await services.due.settle(direction, claims);
  const due = claims.filter((_, i) => taken[i]).map((c) => c.item);
  if (due.length === 0) return 0;
  try {
    await services.queue.send(queueOf(direction), { due });
  } catch (err) {
    // Claimed but not sent: these wait one interval (the entries already moved), never twice.
    services.log.warn("scheduler send failed", { direction, mailboxes: due.length, err });
    return 0;
  }
  return due.length;
}

/** Waits for every task, then throws the first failure, if any. */
async function settleAll(tasks: Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(tasks)).find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}

/** Runs at most `n` tasks at once, in the order they were asked for. */
function limiter(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (active < n) active++;
    else await new Promise<void>((resolve) => waiting.push(resolve)); // the finishing task hands its place over
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}

/** Alerts are kept this long after their last occurrence (docs/errors.md). */
export const ALERT_RETENTION_DAYS = 30;

/** At most once an hour across all instances (an hour-long lease that is never released). */
async function purgeOldAlerts(services: Services, now: Date): Promise<void> {
  const lease = await services.leases.tryAcquire("maintenance", "alert-retention", 60 * 60_000);
  if (!lease) return;
  const purged = await services.alerts.purgeOlderThan(new Date(now.getTime() - ALERT_RETENTION_DAYS * 24 * 3600_000));
  if (purged > 0) services.log.info("alerts purged", { purged });
}

/**
 * Each shard of each direction is read a page at a time; a page's chunks (33 entries, one
 * transaction, one message) queue for one of WORKERS places, in the order they were read, and the next page is
 * read once they are done. So find and enqueue overlap, each shard goes oldest first, and the
 * shards take turns.
 */
export async function runSchedulerTick(services: Services, budgetMs = TICK_BUDGET_MS): Promise<TickResult> {
  const started = performance.now();
  const outOfTime = (): boolean => performance.now() - started >= budgetMs;
  const now = services.clock.now();
  await purgeOldAlerts(services, now).catch((err: unknown) => services.log.warn("alert purge failed", { err }));
  const result: TickResult = { incoming: 0, outgoing: 0, deferred: 0 };
  const place = limiter(WORKERS);
  const runShard = async (direction: Direction, shard: number): Promise<void> => {
    for await (const page of services.due.duePages(direction, shard, now)) {
      await Promise.all(Array.from({ length: Math.ceil(page.length / CHUNK) }, (_, i) => page.slice(i * CHUNK, (i + 1) * CHUNK)).map((chunk) => place(async () => {
        if (outOfTime()) {
          result.deferred += chunk.length;
          return;
        }
        const sent = await runChunk(services, direction, chunk, now).catch((err: unknown) => {
          services.log.warn("scheduler chunk failed", { direction, entries: chunk.length, err });
          return 0;
        });
        result[direction] += sent;
      })));
      if (outOfTime()) return;
    }
  };
  // A shard that could not be read fails the tick, once every other shard has had its turn.
  await settleAll((["incoming", "outgoing"] as const).map(async (direction) => {
    // Entries written before decision 0028 join their shards first, so this tick sees them.
    await services.due.migrateLegacy(direction, now, LEGACY_PER_TICK).catch((err: unknown) => services.log.warn("due index migration failed", { direction, err }));
    await settleAll(Array.from({ length: DUE_SHARDS }, (_, shard) => runShard(direction, shard)));
  }));
  return result;
}
