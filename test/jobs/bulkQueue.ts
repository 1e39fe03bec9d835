/**
 * Test helper: plays the `mailboxTest` queue trigger by hand, one message at a time, so a test
 * decides when steps run (the test app serves HTTP only).
 */
import type { QueueClient } from "@azure/storage-queue";
import type { Services } from "../../shared/runtime/services.js";
import { QUEUES } from "../../shared/storage/names.js";
import { handleJobMessage, jobMessage, type JobMessage } from "../../shared/jobs/jobMessages.js";

export const jobQueue = (services: Services): QueueClient => services.storage.queues.getQueueClient(QUEUES.test);

export const decode = (text: string): JobMessage => jobMessage.parse(JSON.parse(Buffer.from(text, "base64").toString("utf8")));

/** Runs every queued job message (and those they queue) until the queue is empty; returns how many ran. */
export async function drainJobs(services: Services): Promise<number> {
  const queue = jobQueue(services);
  let steps = 0;
  for (;;) {
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32 });
    if (receivedMessageItems.length === 0) return steps;
    for (const m of receivedMessageItems) {
      await handleJobMessage(services, decode(m.messageText));
      await queue.deleteMessage(m.messageId, m.popReceipt);
      steps++;
    }
  }
}

export async function queuedCount(services: Services): Promise<number> {
  return (await jobQueue(services).getProperties()).approximateMessagesCount ?? 0;
}
