/**
 * @module Queue trigger `mailboxOutgoing` (queue `mailbox-outgoing`): one outgoing run for the
 * mailbox named in the message. Thin: parse, then shared/sync/outgoing/sendMailbox.ts.
 */
import { z } from "zod";
import type { QueueFunctionDefinition } from "../shared/runtime/functionDefinitions.js";
import { getServices } from "../shared/runtime/services.js";
import { QUEUES } from "../shared/storage/names.js";
import { sendMailbox } from "../shared/sync/outgoing/sendMailbox.js";

export const outgoingMessage = z.object({ mailboxId: z.string().min(1) });

export const mailboxOutgoingFunction: QueueFunctionDefinition = {
  kind: "queue",
  name: "mailboxOutgoing",
  queueName: QUEUES.outgoing,
  connection: "AzureWebJobsStorage",
  handler: async (message, context) => {
    const services = await getServices();
    const parsed = outgoingMessage.safeParse(message);
    if (!parsed.success) {
      // Retrying cannot make a malformed message valid; dropping it beats five poison retries.
      services.log.warn("mailboxOutgoing: message without a mailboxId dropped", { invocationId: context.invocationId });
      return;
    }
    const result = await sendMailbox(services, parsed.data.mailboxId);
    services.log.info("mailboxOutgoing run", { mailboxId: parsed.data.mailboxId, result, invocationId: context.invocationId });
  },
};
