/**
 * @module Sends work to the app's queues in the encoding the Functions host expects: JSON, then
 * base64 (host.json `messageEncoding: base64`, the host's default).
 */
import type { QueueServiceClient } from "@azure/storage-queue";
import { storageError } from "../storage/documentTable.js";

export interface QueueSender {
  send(queue: string, message: unknown, options?: { delaySeconds?: number }): Promise<void>;
}

export function createQueueSender(queues: QueueServiceClient): QueueSender {
  return {
    async send(queue, message, options = {}) {
      const text = Buffer.from(JSON.stringify(message), "utf8").toString("base64");
      try {
        await queues.getQueueClient(queue).sendMessage(text, {
          ...(options.delaySeconds ? { visibilityTimeout: Math.min(Math.ceil(options.delaySeconds), 7 * 24 * 3600 - 1) } : {}),
        });
      } catch (err) {
        throw storageError(err);
      }
    },
  };
}
