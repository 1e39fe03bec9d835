/**
 * @module Samples the approximate length of every queue of shared/storage/names.ts, the -poison
 * queues included, as the `emailsync.queue.depth` gauge. The scheduler tick calls it once a tick
 * (six Storage reads a minute); a queue that cannot be read is logged and left out, and never
 * fails the tick.
 */
import type { QueueServiceClient } from "@azure/storage-queue";
import type { Logger } from "../runtime/logger.js";
import { ALL_QUEUES } from "../storage/names.js";
import { telemetry } from "./telemetry.js";

export async function sampleQueueDepths(queues: QueueServiceClient, log: Logger): Promise<Record<string, number>> {
  const depths: Record<string, number> = {};
  await Promise.all(ALL_QUEUES.map(async (queue) => {
    try {
      const depth = (await queues.getQueueClient(queue).getProperties()).approximateMessagesCount ?? 0;
      depths[queue] = depth;
      telemetry().emit("emailsync.queue.depth", depth, { queue, "queue.poison": queue.endsWith("-poison") });
    } catch (err) {
      log.warn("queue depth not sampled", { queue, err });
    }
  }));
  return depths;
}
