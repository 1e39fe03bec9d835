/**
 * @module The message of the `mailbox-incoming` and `mailbox-outgoing` queues, and how a worker
 * runs one (decision 0033).
 *
 * `{ mailboxId }` names one mailbox: a poll's own continuation, a retry after a busy connection
 * slot, a send queued by the API. `{ due: [...] }` is what the scheduler's tick sends: the up to
 * MAX_DUE_PER_MESSAGE mailboxes of one claimed chunk, each with the polling interval the index
 * moved it by. One message for a chunk instead of one per mailbox is what lets one tick enqueue
 * 100,000 due mailboxes (33 times fewer queue writes, reads and deletes, and Functions executions).
 *
 * A worker runs a chunk's mailboxes one after another, as the host would have run their
 * messages in one of its places; so an instance runs no more polls at once than before. Then:
 *   - it starts no mailbox after CHUNK_RUN_MS: the rest go back as one new message, so a slow
 *     mailbox delays the others of its chunk by at most that long (plus its own run);
 *   - a mailbox whose run throws goes back alone, so the queue's retries and poison queue apply
 *     to it and not to the chunk;
 *   - a chunk delivered again (its worker died: a crash, a timeout, a message that costs the
 *     process) is split into one message per mailbox instead of run, so a mailbox that kills its
 *     worker ends alone in the poison queue after its own retries. A run is safe to repeat
 *     (leases, markers, ETags), so the mailboxes the dead worker did finish lose nothing.
 */
import { z } from "zod";
import type { Direction } from "../domain/mailbox.js";
import type { Services } from "../runtime/services.js";
import { QUEUES } from "../storage/names.js";

/** Mailboxes in one scheduler message: a claimed chunk (33 claims of 3 operations fill a transaction). */
export const MAX_DUE_PER_MESSAGE = 33;
/** A worker starts none of a chunk's mailboxes after this long; the rest go back as one message. */
export const CHUNK_RUN_MS = 60_000;

const mailboxId = z.string().min(1).max(256);
/** One due mailbox; `every`: the minutes its claim moved it by (incoming; the worker corrects it when the profile says otherwise). */
export const dueItem = z.object({ mailboxId, every: z.number().int().min(0).max(1440).optional() });
export type DueItem = z.infer<typeof dueItem>;

export const mailboxMessage = z.union([
  z.object({ mailboxId }),
  z.object({ due: z.array(dueItem).min(1).max(MAX_DUE_PER_MESSAGE) }),
]);
export type MailboxMessage = z.infer<typeof mailboxMessage>;

export const queueOf = (direction: Direction): string => (direction === "incoming" ? QUEUES.incoming : QUEUES.outgoing);

export interface DueMessageRun<R> {
  /** What each mailbox run returned, in order; a mailbox sent back is not in it. */
  results: { mailboxId: string; result: R }[];
  /** Mailboxes sent back to the queue (out of time, failed, or a redelivered chunk split). */
  resent: number;
}

/**
 * Runs the mailboxes a message names. `deliveries`: how often the queue has handed this message
 * out (the trigger's dequeueCount). A message of one mailbox runs as such, and a throw fails the
 * message, so the queue retries it.
 */
export async function runMailboxMessage<R>(
  services: Services,
  direction: Direction,
  message: MailboxMessage,
  deliveries: number,
  runOne: (item: DueItem) => Promise<R>,
  chunkRunMs = CHUNK_RUN_MS,
): Promise<DueMessageRun<R>> {
  const items = "due" in message ? message.due : [{ mailboxId: message.mailboxId }];
  if (items.length === 1) return { results: [{ mailboxId: items[0]!.mailboxId, result: await runOne(items[0]!) }], resent: 0 };
  const sendBack = (back: DueItem[]): Promise<void> => services.queue.send(queueOf(direction), { due: back });
  if (deliveries > 1) {
    await Promise.all(items.map((item) => sendBack([item])));
    services.log.warn("chunk delivered again: split into one message per mailbox", { direction, mailboxes: items.length, deliveries });
    return { results: [], resent: items.length };
  }
  const started = Date.now(); // real time: services.clock may be a test's manual clock
  const results: DueMessageRun<R>["results"] = [];
  let resent = 0;
  for (const [i, item] of items.entries()) {
    if (i > 0 && Date.now() - started >= chunkRunMs) {
      const rest = items.slice(i);
      await sendBack(rest);
      return { results, resent: resent + rest.length };
    }
    try {
      results.push({ mailboxId: item.mailboxId, result: await runOne(item) });
    } catch (err) {
      services.log.warn("mailbox run failed in a chunk: sent back alone", { direction, mailboxId: item.mailboxId, err });
      await sendBack([item]);
      resent++;
    }
  }
  return { results, resent };
}

/** How often the queue has handed the message out (the trigger's dequeueCount; 1 when unknown). */
export function deliveriesOf(context: { triggerMetadata?: Record<string, unknown> }): number {
  const n = Number(context.triggerMetadata?.dequeueCount);
  return Number.isInteger(n) && n > 0 ? n : 1;
}
