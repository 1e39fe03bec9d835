/**
 * @module One poll of one mailbox (the body of `mailboxIncoming`):
 *   lease on the mailbox → a connection slot of the profile → log in → UIDL → fetch unseen
 *   messages, then parked ones that are due again (reconsider.ts) → for each: raw to a blob,
 *   activity, marker → DELE what may be deleted → QUIT → checkpoint → status through the error policy.
 * Nothing is deleted from the server before its marker is durable, and every step is idempotent
 * on (mailbox, UIDL) and Message-ID, so a crash or a redelivered queue message loses nothing and
 * duplicates nothing. A run stops after a bounded amount of work and queues its own continuation,
 * so a huge mailbox makes progress instead of restarting from the beginning.
 */
import { Pop3Session, type Pop3ConnectOptions } from "../../pop3/index.js";
import { toAppError } from "../../errors.js";
import type { Services } from "../../runtime/services.js";
import { QUEUES, TABLES } from "../../storage/names.js";
import { slotScope } from "../../coordination/connectionSlots.js";
import { LeaseKeeper } from "../../coordination/leaseKeeper.js";
import { LIST_SIZE_SLACK_BYTES, MAX_DOWNLOAD_BYTES } from "../../limits.js";
import { logIn, pop3OptionsOf, scrubSecrets, type LoginCredentials } from "../connectionCredentials.js";
import { recordFailure, recordSuccess, type StatsChange } from "../mailboxOutcome.js";
import { leaveIndexWhenIneligible } from "../leaveIndexWhenIneligible.js";
import { countsOf, IncomingCheckpoint, maildropScope, type IncomingCounts, type Marker } from "./checkpoint.js";
import { processMessage, recordUndownloadable, type MessageContext } from "./processMessage.js";
import { effectiveCutoff } from "./cutoff.js";
import { isDue, isParked } from "./reconsider.js";
import { takeSmall } from "./takeSmall.js";
import type { IndexRow } from "../../storage/documentTable.js";
import { FileOrder } from "./fileOrder.js";

export const LEASE_MS = 5 * 60_000;
/** The lease is renewed this often while a poll runs (by time, not per message). */
export const LEASE_RENEW_MS = LEASE_MS / 3;
/**
 * A run starts no new message after this many messages or this long, then continues in a new
 * queue message (what is durable stays). The POP3 session's overall deadline (POLL_DEADLINE_MS)
 * bounds the message in flight; both stay below the Functions timeout (host.json, 10 minutes).
 */
export const MAX_MESSAGES_PER_RUN = 500;
export const MAX_RUN_MS = 4 * 60_000;
export const POLL_DEADLINE_MS = 8 * 60_000;
/** Messages of one mailbox stored, parsed and filed at the same time while the next download. */
export const PIPELINE_WINDOW = 8;
/** A message up to this size is read into memory to join the window; a larger one streams in line. */
export const PIPELINE_MESSAGE_BYTES = 1024 * 1024;
/** New markers are written this many at a time (checkpoint.ts markMany), and at the end of the run. */
export const MARKER_BATCH = 64;
/** When every connection slot of the profile is busy, try again after this. */
export const SLOT_RETRY_SECONDS = 60;

export interface PollOptions {
  /** Test-only connection settings (a test CA, short timeouts). */
  connectOverrides?: Partial<Pop3ConnectOptions>;
  maxMessages?: number;
  /** Test-only: the soft time budget of the run (MAX_RUN_MS). */
  maxRunMs?: number;
  /**
   * The polling interval (minutes) the due index moved this mailbox by, when the scheduler sent
   * it (dueMessage.ts): a profile that says otherwise corrects the index (decision 0033).
   */
  every?: number;
}

export type PollResult =
  | { status: "ineligible"; reason: string }
  | { status: "busy" | "throttled" }
  /** `stats`: what this run moved the counters by (a parked message filed now: skipped -1, received +1). */
  | { status: "done"; fetched: number; stats: IncomingCounts; more: boolean }
  | { status: "failed"; code: string; outcome: "postponed" | "disabled" };

export async function pollMailbox(services: Services, mailboxId: string, options: PollOptions = {}): Promise<PollResult> {
  const found = await services.repos.mailboxes.get(mailboxId);
  const { settings } = await services.settings.get();
  // The tick enqueues what the index says is due without reading it: the index learns here.
  const reason = await leaveIndexWhenIneligible(services, "incoming", mailboxId, found?.doc, settings);
  if (!found || reason) return { status: "ineligible", reason: reason ?? "deleted" };
  const profile = (await services.repos.profiles.get(found.doc.profileId ?? ""))?.doc;
  if (!profile) return { status: "ineligible", reason: "noProfile" };
  if (options.every !== undefined && options.every !== profile.minPollingIntervalMinutes) {
    await services.due.setEvery("incoming", mailboxId, profile.minPollingIntervalMinutes, services.clock.now());
  }

  const lease = await services.leases.tryAcquire("lease|incoming", mailboxId, LEASE_MS);
  if (!lease) return { status: "busy" };
  const slot = await services.slots.tryAcquire(slotScope(profile, mailboxId), profile.maxConcurrentConnections, LEASE_MS);
  if (!slot) {
    await lease.release();
    await services.queue.send(QUEUES.incoming, { mailboxId }, { delaySeconds: SLOT_RETRY_SECONDS });
    return { status: "throttled" };
  }
  const keeper = new LeaseKeeper(lease, LEASE_RENEW_MS, (err) => services.log.warn("lease renewal failed", { mailboxId, err }));

  const mailbox = found.doc;
  // Counts kept on the mailbox before exact counters existed seed them (checkpoint.ts).
  const initial: IncomingCounts = { received: mailbox.stats.received, skipped: mailbox.stats.skipped, quarantined: mailbox.stats.quarantined };
  const stats: IncomingCounts = { received: 0, skipped: 0, quarantined: 0 };
  const started = Date.now();
  const budget = options.maxRunMs ?? MAX_RUN_MS;
  let checkpoint: IncomingCheckpoint | undefined;
  let session: Pop3Session | undefined;
  let fetched = 0;
  let used: LoginCredentials | undefined;
  const pending: { msgNo: number; uid: string; marker: Marker }[] = [];
  const lookupRows: IndexRow[] = []; // filed activities' lookup rows outside their partitions, written with the markers
  const window = new Set<Promise<void>>(); // messages being processed (pipelining)
  let flushPending: (() => Promise<void>) | undefined;
  /** The mailbox's counts as the counters hold them, once this run has read or written them. */
  const exact = async (): Promise<StatsChange> => (checkpoint ? { exact: await checkpoint.counters(initial) } : {});
  try {
    let scope = "";
    session = await logIn(services, profile, mailbox, "incoming", (creds) => {
      used = creds;
      const o = pop3OptionsOf(profile, creds);
      scope = maildropScope(o.host, o.port, o.userName);
      // Messages over MAX_DOWNLOAD_BYTES are never fetched; a body far beyond its LIST size is the server lying.
      return Pop3Session.connect({ ...o, maxMessageBytes: MAX_DOWNLOAD_BYTES + LIST_SIZE_SLACK_BYTES, deadlineMs: POLL_DEADLINE_MS, ...options.connectOverrides });
    });
    const cp = new IncomingCheckpoint(services.storage.table(TABLES.coordination), services.raw, mailboxId, scope);
    checkpoint = cp;
    const [listing, sizes] = await Promise.all([session.uidl(), session.list()]);
    const sizeOf = new Map(sizes.map((l) => [l.msgNo, l.size]));
    const { seen, parked } = await cp.loadSeen();
    const unseen = listing.filter((item) => !seen.has(item.uid) && !parked.has(item.uid));
    // Processed by an earlier run that did not get to its checkpoint: no second fetch.
    const markers = await cp.markers(unseen.map((item) => item.uid), initial);
    const done = new Map<number, Marker>(); // msgNo → marker, for DELE and the checkpoint
    const toFetch: { msgNo: number; uid: string }[] = [];
    const again: typeof toFetch = [];
    const previous = new Map<string, Marker>(); // uid → parked marker, for the ones fetched again
    const cutoff = effectiveCutoff(mailbox, profile);
    const now = services.clock.now();
    for (const item of listing) {
      if (seen.has(item.uid)) continue;
      const marker = parked.get(item.uid) ?? markers.get(item.uid);
      if (!marker) toFetch.push(item);
      else if (isParked(marker) && isDue(marker, cutoff, now)) {
        again.push(item);
        previous.set(item.uid, marker);
      } else done.set(item.msgNo, marker);
    }
    // New mail first; parked mail that is due shares what is left of the run's budget.
    const limit = options.maxMessages ?? MAX_MESSAGES_PER_RUN;
    const batch = [...toFetch, ...again].slice(0, limit);
    let more = toFetch.length + again.length > batch.length;
    // Writes of lookup rows run one after another, so "written" means every earlier one is too.
    let lookupWrites: Promise<void> = Promise.resolve();
    const writeLookups = (rows: IndexRow[]): Promise<void> => {
      const write = lookupWrites.then(() => services.emails.writeRows(rows));
      lookupWrites = write.catch(() => {});
      return write;
    };
    const flushLookups = (): Promise<void> => writeLookups(lookupRows.splice(0));
    const ctxOf = (uid: string): MessageContext => {
      const before = previous.get(uid);
      return {
        services, mailbox, profile, settings, uid, scope, ...(before ? { previous: before } : {}),
        lookups: (rows) => { lookupRows.push(...rows); }, flushLookups,
      };
    };
    const counted = (msgNo: number, marker: Marker, add: IncomingCounts): void => {
      done.set(msgNo, marker);
      fetched++;
      stats.received += add.received;
      stats.skipped += add.skipped;
      stats.quarantined += add.quarantined;
    };
    // New markers are written MARKER_BATCH at a time (one transaction per 99, with the counters);
    // until then their messages count as not processed: a crash re-fetches and re-joins them.
    // Lookup rows go first, taken at the same instant as the markers, so every marker written has
    // its message's rows written before it.
    const flush = async (): Promise<void> => {
      const rows = lookupRows.splice(0);
      const batch = pending.splice(0);
      await writeLookups(rows);
      if (batch.length === 0) return;
      await cp.markMany(batch, initial);
      for (const { msgNo, marker } of batch) counted(msgNo, marker, countsOf(marker.outcome));
    };
    flushPending = flush;
    const record = async (msgNo: number, uid: string, found: Marker): Promise<void> => {
      if (previous.has(uid)) {
        const { marker, moved } = await cp.settle(uid, found, initial);
        counted(msgNo, marker, moved);
        return;
      }
      pending.push({ msgNo, uid, marker: found });
      if (pending.length >= MARKER_BATCH) await flush();
    };
    // Too large to download at all: recorded from the listing alone, left on the server.
    const huge = batch.filter((b) => (sizeOf.get(b.msgNo) ?? 0) > MAX_DOWNLOAD_BYTES);
    for (const { msgNo, uid } of huge) await record(msgNo, uid, await recordUndownloadable(ctxOf(uid), sizeOf.get(msgNo) ?? 0));
    const retrieve = batch.filter((b) => !huge.includes(b));
    const uidOf = new Map(retrieve.map((b) => [b.msgNo, b.uid]));
    let taken = 0;
    // At the budget no new RETR goes out; the ones already requested are processed, so the
    // connection stays usable for DELE and QUIT.
    let requested = 0;
    const inBudget = (): boolean => {
      const go = requested === 0 || Date.now() - started <= budget; // every run makes progress
      if (go) requested++;
      return go;
    };
    // Pipelined: while one message is stored, parsed and filed, the next ones download. A small
    // message is read off the connection into memory and handed to the window; a large one is
    // processed in line, streaming, so at most PIPELINE_WINDOW small messages are held at once.
    const order = new FileOrder();
    let failure: { err: unknown } | undefined;
    const settleWindow = async (room: number): Promise<void> => {
      while (window.size > room && !failure) await Promise.race(window);
      if (failure) throw failure.err; // the caller's catch waits for the rest of the window
    };
    for await (const { msgNo, stream } of session.retrieveMany(retrieve.map((b) => b.msgNo), { more: inBudget })) {
      keeper.assertHeld();
      const uid = uidOf.get(msgNo) ?? "";
      const body = await takeSmall(stream, PIPELINE_MESSAGE_BYTES);
      const ticket = order.enter();
      const work = processMessage({ ...ctxOf(uid), ticket }, body.source)
        .finally(() => ticket.done())
        .then((m) => record(msgNo, uid, m))
        .then(() => { taken++; });
      if (!body.small) {
        await work;
        continue;
      }
      const tracked: Promise<void> = work.catch((err: unknown) => { failure ??= { err }; }).finally(() => window.delete(tracked));
      window.add(tracked);
      await settleWindow(PIPELINE_WINDOW - 1);
    }
    await settleWindow(0);
    await flush();
    more = more || taken < retrieve.length;
    keeper.assertHeld();
    const deleted = new Set<number>();
    if (mailbox.deleteEmailsAfterProcessing) {
      for (const [msgNo, marker] of done) if (marker.deletable) deleted.add(msgNo);
      await session.deleMany([...deleted]);
    }
    await session.quit(); // commits the deletions (RFC 1939 §6)
    session = undefined;
    // Forget UIDLs the server no longer has, so the checkpoint does not grow forever.
    const processedUids = new Set<string>();
    const stillParked = new Map<string, Marker>();
    for (const item of listing) {
      const marker = done.get(item.msgNo) ?? parked.get(item.uid);
      if (deleted.has(item.msgNo)) continue;
      if (marker && isParked(marker)) stillParked.set(item.uid, marker);
      else if (marker || seen.has(item.uid)) processedUids.add(item.uid);
    }
    await cp.saveSeen(processedUids, stillParked);
    await recordSuccess(services, mailboxId, "incoming", await exact(), found);
    if (more) await services.queue.send(QUEUES.incoming, { mailboxId });
    return { status: "done", fetched, stats, more };
  } catch (thrown) {
    session?.close();
    // Nothing of this run may write after it has reported; what was filed before the failure
    // keeps its markers, so the next run does not redo it.
    await Promise.allSettled([...window]);
    await flushPending?.().catch(() => {});
    // A server may quote what it was sent; its replies end up in lastError and alerts.
    const err = used ? scrubSecrets(thrown, used) : toAppError(thrown);
    // Losing the lease is not the mailbox's failure: the worker that holds it carries on.
    if (err.code === "LEASE_HELD") return { status: "busy" };
    const { outcome } = await recordFailure(services, mailboxId, "incoming", err, await exact().catch(() => ({})), found);
    services.log.warn("incoming sync failed", { mailboxId, errorCode: err.code, transient: err.transient, outcome });
    return { status: "failed", code: err.code, outcome };
  } finally {
    await keeper.stop();
    await slot.release();
    await lease.release();
  }
}
