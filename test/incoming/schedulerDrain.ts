/** For the scheduler tests: takes every message off the incoming queue and returns their mailbox ids. */
import type { TestApp } from "../support/app.js";
import { QUEUES } from "../../shared/storage/names.js";

export async function drainIncoming(app: TestApp): Promise<string[]> {
  const q = app.services.storage.queues.getQueueClient(QUEUES.incoming);
  const out: string[] = [];
  for (;;) {
    const { receivedMessageItems } = await q.receiveMessages({ numberOfMessages: 32 });
    if (receivedMessageItems.length === 0) return out;
    for (const m of receivedMessageItems) {
      out.push((JSON.parse(Buffer.from(m.messageText, "base64").toString("utf8")) as { mailboxId: string }).mailboxId);
      await q.deleteMessage(m.messageId, m.popReceipt);
    }
  }
}
