/**
 * @module Queue trigger `mailboxIncoming`: one poll of one mailbox (shared/sync/incoming/pollMailbox.ts).
 * A malformed message is logged and dropped: retrying it could never succeed.
 */
import { z } from "zod";
import type { QueueFunctionDefinition } from "../shared/runtime/functionDefinitions.js";
import { getServices } from "../shared/runtime/services.js";
import { QUEUES } from "../shared/storage/names.js";
import { pollMailbox } from "../shared/sync/incoming/pollMailbox.js";

export const mailboxWorkMessage = z.object({ mailboxId: z.string().min(1) });

export const mailboxIncomingFunction: QueueFunctionDefinition = {
  kind: "queue",
  name: "mailboxIncoming",
  queueName: QUEUES.incoming,
  connection: "AzureWebJobsStorage",
  handler: async (message, context) => {
    const services = await getServices();
    const parsed = mailboxWorkMessage.safeParse(message);
    if (!parsed.success) {
      services.log.warn("mailboxIncoming: message dropped, not {mailboxId}", { invocationId: context.invocationId });
      return;
    }
    const result = await pollMailbox(services, parsed.data.mailboxId);
    services.log.info("mailboxIncoming", { invocationId: context.invocationId, mailboxId: parsed.data.mailboxId, ...result });
  },
};
