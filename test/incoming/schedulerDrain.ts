/**
 * For the scheduler tests: takes every message off the incoming queue and returns the mailbox ids
 * they name (a chunk of the tick names several, shared/sync/dueMessage.ts).
 */
import type { TestApp } from "../support/app.js";
import { QUEUES } from "../../shared/storage/names.js";
import { mailboxMessage, type DueItem } from "../../shared/sync/dueMessage.js";

/** Every message taken off the queue, as sent. */
export async function drainIncomingMessages(app: TestApp): Promise<DueItem[][]> {
  const q = app.services.storage.queues.getQueueClient(QUEUES.incoming);
  const out: DueItem[][] = [];
  for (;;) {
    const { receivedMessageItems } = await q.receiveMessages({ numberOfMessages: 32 });
    if (receivedMessageItems.length === 0) return out;
    for (const m of receivedMessageItems) {
      const message = mailboxMessage.parse(JSON.parse(Buffer.from(m.messageText, "base64").toString("utf8")));
      out.push("due" in message ? message.due : [{ mailboxId: message.mailboxId }]);
      await q.deleteMessage(m.messageId, m.popReceipt);
    }
  }
}

export async function drainIncoming(app: TestApp): Promise<string[]> {
  return (await drainIncomingMessages(app)).flat().map((i) => i.mailboxId);
}
