/**
 * @module The scheduler tick: reads only what the due index says is due, checks each mailbox is
 * still eligible, and enqueues one message per due mailbox and direction. Claiming an entry moves
 * it forward in the same transaction, so overlapping ticks (or two instances) enqueue it once.
 *
 * Cost per due mailbox (decision 0028): one mailbox read and one queue message; its profile is
 * read once per tick, and claims go to the index in transactions of up to 33 per shard.
 */
import { performance } from "node:perf_hooks";
import { ineligibility, type Direction, type Mailbox } from "../domain/mailbox.js";
import type { OrgSettings } from "../domain/orgSettings.js";
import type { Profile } from "../domain/profile.js";
import type { Services } from "../runtime/services.js";
import type { Stored } from "../storage/documentTable.js";
import { QUEUES } from "../storage/names.js";
import { DUE_SHARDS, type DueEntry, type DueSettlement } from "../coordination/dueIndex.js";
import { raiseAlert } from "./alerts.js";

/**
 * A tick starts no new work after this long, so it ends inside the default 60 s period even when
 * more is due than it can enqueue; the rest is still due, oldest first, at the next tick. There is
 * no cap on the count: memory holds at most a page (1,000 entries) per shard and direction.
 */
export const TICK_BUDGET_MS = 45_000;
/** Due mailboxes settled together: read at once, claimed in one transaction (3 operations each, 100 at most). */
const CHUNK = 33;
/** Chunks in flight at once, so up to CHUNK x WORKERS mailbox reads or queue messages. */
const WORKERS = 8;
/** Legacy (single-partition) due entries a tick moves into the shards per direction. */
const LEGACY_PER_TICK = 5_000;
/** An outgoing entry comes back after this if the worker never reschedules it (it crashed). */
export const OUTGOING_SAFETY_MS = 10 * 60_000;
/** How often an unapproved mailbox is looked at again. */
export const NOT_APPROVED_RECHECK_MS = 60 * 60_000;

export interface TickResult {
  incoming: number;
  outgoing: number;
  /** Due entries read but left for the next tick because this one ran out of time (TICK_BUDGET_MS); more may be unread. */
  deferred: number;
}

/** Puts a mailbox in the due index for both directions now; the tick decides whether it is eligible. */
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

/** One profile read per tick, however many of its mailboxes are due. */
type ProfileCache = Map<string, Promise<Stored<Profile> | undefined>>;

async function nextFor(services: Services, direction: Direction, m: Mailbox, now: Date, profiles: ProfileCache): Promise<Date> {
  if (direction === "outgoing") return new Date(now.getTime() + OUTGOING_SAFETY_MS);
  let profile = m.profileId ? profiles.get(m.profileId) : undefined;
  if (m.profileId && !profile) profiles.set(m.profileId, (profile = services.repos.profiles.get(m.profileId)));
  const minutes = (await profile)?.doc.minPollingIntervalMinutes ?? 5;
  return new Date(now.getTime() + minutes * 60_000);
}

/** What the tick does with one due entry: where it moves, whether a message is sent, whether an alert is raised. */
interface Decision { settlement: DueSettlement; send: boolean; notApproved?: Mailbox }

async function decide(services: Services, direction: Direction, entry: DueEntry, settings: OrgSettings, now: Date, profiles: ProfileCache): Promise<Decision> {
  const m = (await services.repos.mailboxes.get(entry.mailboxId))?.doc;
  if (!m) return { settlement: { entry, remove: true }, send: false };
  const reason = ineligibility(m, direction, settings, now);
  if (reason === "postponed") return { settlement: { entry, nextAt: new Date(m[direction].postponedUntil ?? now.toISOString()) }, send: false };
  // Approval may also stop being required (org settings): look again in an hour. Approving the
  // mailbox makes it due at once.
  if (reason === "notApproved") return { settlement: { entry, nextAt: new Date(now.getTime() + NOT_APPROVED_RECHECK_MS) }, send: false, notApproved: m };
  if (reason) return { settlement: { entry, remove: true }, send: false };
  return { settlement: { entry, nextAt: await nextFor(services, direction, m, now, profiles) }, send: true };
}

/** Reads a chunk's mailboxes at once, settles their entries in one transaction, sends the messages of the entries it took. */
async function runChunk(services: Services, direction: Direction, chunk: DueEntry[], settings: OrgSettings, now: Date, profiles: ProfileCache): Promise<number> {
  const failed = (what: string, e: DueEntry) => (err: unknown): undefined => {
    services.log.warn(what, { direction, mailboxId: e.mailboxId, err });
    return undefined;
  };
  const decisions = (await Promise.all(chunk.map((e) => decide(services, direction, e, settings, now, profiles).catch(failed("scheduler entry failed", e)))))
    .filter((d): d is Decision => d !== undefined);
  const taken = await services.due.settle(direction, decisions.map((d) => d.settlement));
  const sent = await Promise.all(decisions.map(async (d, i) => {
    if (!taken[i]) return false;
    if (d.notApproved) await notApprovedAlert(services, d.notApproved).catch(failed("scheduler alert failed", d.settlement.entry));
    if (!d.send) return false;
    const queue = direction === "incoming" ? QUEUES.incoming : QUEUES.outgoing;
    return services.queue.send(queue, { mailboxId: d.settlement.entry.mailboxId }).then(() => true, (err: unknown) => failed("scheduler send failed", d.settlement.entry)(err) ?? false);
  }));
  return sent.filter(Boolean).length;
}

/** Raised once (folded), not at every look. */
function notApprovedAlert(services: Services, m: Mailbox): Promise<void> {
  return raiseAlert(services, {
    level: "warning", code: "MAILBOX_NOT_APPROVED", mailboxId: m.id, profileId: m.profileId,
    foldKey: `notApproved|${m.id}`, once: true,
    message: `Mailbox ${m.emailAddress} is not approved, so its email is not processed. Approve it (POST /api/mailboxes/${m.id}/approve) to start.`,
  });
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
 * transaction) queue for one of WORKERS places, in the order they were read, and the next page is
 * read once they are done. So find and enqueue overlap, each shard goes oldest first, and the
 * shards take turns.
 */
export async function runSchedulerTick(services: Services, budgetMs = TICK_BUDGET_MS): Promise<TickResult> {
  const started = performance.now();
  const outOfTime = (): boolean => performance.now() - started >= budgetMs;
  const now = services.clock.now();
  await purgeOldAlerts(services, now).catch((err: unknown) => services.log.warn("alert purge failed", { err }));
  const { settings } = await services.settings.get();
  const result: TickResult = { incoming: 0, outgoing: 0, deferred: 0 };
  const profiles: ProfileCache = new Map();
  const place = limiter(WORKERS);
  const runShard = async (direction: Direction, shard: number): Promise<void> => {
    for await (const page of services.due.duePages(direction, shard, now)) {
      await Promise.all(Array.from({ length: Math.ceil(page.length / CHUNK) }, (_, i) => page.slice(i * CHUNK, (i + 1) * CHUNK)).map((chunk) => place(async () => {
        if (outOfTime()) {
          result.deferred += chunk.length;
          return;
        }
        const sent = await runChunk(services, direction, chunk, settings, now, profiles).catch((err: unknown) => {
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
