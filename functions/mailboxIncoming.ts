/**
 * @module Queue trigger `mailboxIncoming` (queue `mailbox-incoming`): one poll of the mailbox
 * named in the message (shared/sync/incoming/pollMailbox.ts).
 */
import { z } from "zod";
import { defineQueueFunction } from "../shared/runtime/queueFunction.js";
import { QUEUES } from "../shared/storage/names.js";
import { pollMailbox } from "../shared/sync/incoming/pollMailbox.js";

export const mailboxIncomingFunction = defineQueueFunction({
  name: "mailboxIncoming",
  queueName: QUEUES.incoming,
  message: z.object({ mailboxId: z.string().min(1) }),
  run: (services, { mailboxId }) => pollMailbox(services, mailboxId),
});
