/**
 * @module One poll of one mailbox (the body of `mailboxIncoming`):
 *   lease on the mailbox → a connection slot of the profile → log in → UIDL → fetch only unseen
 *   messages → for each: raw to a blob, activity, marker → DELE what may be deleted → QUIT →
 *   checkpoint → status through the error policy.
 * Nothing is deleted from the server before its marker is durable, and every step is idempotent
 * on (mailbox, UIDL) and Message-ID, so a crash or a redelivered queue message loses nothing and
 * duplicates nothing. A run stops after a bounded amount of work and queues its own continuation,
 * so a huge mailbox makes progress instead of restarting from the beginning.
 */
import { Pop3Session, type Pop3ConnectOptions } from "../../pop3/index.js";
import { AppError, toAppError } from "../../errors.js";
import { ineligibility } from "../../domain/mailbox.js";
import type { Services } from "../../runtime/services.js";
import { QUEUES, TABLES } from "../../storage/names.js";
import { slotScope } from "../../coordination/connectionSlots.js";
import { logIn, pop3OptionsOf } from "../connectionCredentials.js";
import { recordFailure, recordSuccess, type StatsDelta } from "../mailboxOutcome.js";
import { IncomingCheckpoint, type Marker } from "./checkpoint.js";
import { processMessage } from "./processMessage.js";

export const LEASE_MS = 5 * 60_000;
/** A run ends after this many messages or this long, then continues in a new queue message. */
export const MAX_MESSAGES_PER_RUN = 500;
export const MAX_RUN_MS = 4 * 60_000;
/** When every connection slot of the profile is busy, try again after this. */
export const SLOT_RETRY_SECONDS = 60;

export interface PollOptions {
  /** Test-only connection settings (a test CA, short timeouts). */
  connectOverrides?: Partial<Pop3ConnectOptions>;
  maxMessages?: number;
}

export type PollResult =
  | { status: "ineligible"; reason: string }
  | { status: "busy" | "throttled" }
  | { status: "done"; fetched: number; stats: StatsDelta; more: boolean }
  | { status: "failed"; code: string; outcome: "postponed" | "disabled" };

export async function pollMailbox(services: Services, mailboxId: string, options: PollOptions = {}): Promise<PollResult> {
  const found = await services.repos.mailboxes.get(mailboxId);
  if (!found) return { status: "ineligible", reason: "deleted" };
  const { settings } = await services.settings.get();
  const reason = ineligibility(found.doc, "incoming", settings, services.clock.now());
  if (reason) return { status: "ineligible", reason };
  const profile = (await services.repos.profiles.get(found.doc.profileId ?? ""))?.doc;
  if (!profile) return { status: "ineligible", reason: "noProfile" };

  const lease = await services.leases.tryAcquire("lease|incoming", mailboxId, LEASE_MS);
  if (!lease) return { status: "busy" };
  const slot = await services.slots.tryAcquire(slotScope(profile, mailboxId), profile.maxConcurrentConnections, LEASE_MS);
  if (!slot) {
    await lease.release();
    await services.queue.send(QUEUES.incoming, { mailboxId }, { delaySeconds: SLOT_RETRY_SECONDS });
    return { status: "throttled" };
  }

  const mailbox = found.doc;
  const checkpoint = new IncomingCheckpoint(services.storage.table(TABLES.coordination), services.raw);
  const stats: StatsDelta = { received: 0, skipped: 0, quarantined: 0 };
  const started = Date.now();
  let session: Pop3Session | undefined;
  let fetched = 0;
  try {
    session = await logIn(services, profile, mailbox, "incoming",
      (creds) => Pop3Session.connect({ ...pop3OptionsOf(profile, creds), ...options.connectOverrides }));
    const listing = await session.uidl();
    const seen = await checkpoint.loadSeen(mailboxId);
    const done = new Map<number, Marker>(); // msgNo → marker, for DELE
    const toFetch: { msgNo: number; uid: string }[] = [];
    for (const item of listing) {
      if (seen.has(item.uid)) continue;
      // Processed by an earlier run that did not get to its checkpoint: no second fetch.
      const marker = await checkpoint.marker(mailboxId, item.uid);
      if (marker) done.set(item.msgNo, marker);
      else toFetch.push(item);
    }
    const limit = options.maxMessages ?? MAX_MESSAGES_PER_RUN;
    const batch = toFetch.slice(0, limit);
    const uidOf = new Map(batch.map((b) => [b.msgNo, b.uid]));
    let more = toFetch.length > batch.length;
    for await (const { msgNo, stream } of session.retrieveMany(batch.map((b) => b.msgNo))) {
      const uid = uidOf.get(msgNo) ?? "";
      const marker = await processMessage({ services, mailbox, profile, settings, uid }, stream);
      await checkpoint.mark(mailboxId, uid, marker);
      done.set(msgNo, marker);
      fetched++;
      if (marker.outcome === "received") stats.received! += 1;
      else if (marker.outcome === "skipped" || marker.outcome === "noMatch") stats.skipped! += 1;
      else if (marker.outcome === "quarantined") stats.quarantined! += 1;
      if (!(await lease.renew())) throw new AppError("LEASE_HELD", "Another worker took over the mailbox (the lease expired).");
      if (Date.now() - started > MAX_RUN_MS) { more = fetched < batch.length || more; break; }
    }
    const deleted = new Set<number>();
    if (mailbox.deleteEmailsAfterProcessing) {
      for (const [msgNo, marker] of done) if (marker.deletable) deleted.add(msgNo);
      await session.deleMany([...deleted]);
    }
    await session.quit(); // commits the deletions (RFC 1939 §6)
    session = undefined;
    const processedUids = new Set(seen);
    for (const item of listing) {
      if (deleted.has(item.msgNo)) processedUids.delete(item.uid);
      else if (done.has(item.msgNo)) processedUids.add(item.uid);
    }
    // Forget UIDLs the server no longer has, so the checkpoint does not grow forever.
    const onServer = new Set(listing.map((l) => l.uid));
    await checkpoint.saveSeen(mailboxId, [...processedUids].filter((u) => onServer.has(u)));
    await recordSuccess(services, mailboxId, "incoming", stats);
    if (more) await services.queue.send(QUEUES.incoming, { mailboxId });
    return { status: "done", fetched, stats, more };
  } catch (thrown) {
    session?.close();
    const err = toAppError(thrown);
    // Losing the lease is not the mailbox's failure: the worker that holds it carries on.
    if (err.code === "LEASE_HELD") return { status: "busy" };
    const { outcome } = await recordFailure(services, mailboxId, "incoming", err, stats);
    services.log.warn("incoming sync failed", { mailboxId, code: err.code, transient: err.transient, outcome });
    return { status: "failed", code: err.code, outcome };
  } finally {
    await slot.release();
    await lease.release();
  }
}
