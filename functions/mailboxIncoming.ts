/**
 * @module Queue trigger `mailboxIncoming` (queue `mailbox-incoming`): one poll of the mailbox
 * named in the message (shared/sync/incoming/pollMailbox.ts), timed, with what it filed counted
 * (shared/telemetry/mailboxMetrics.ts).
 */
import { z } from "zod";
import { defineQueueFunction } from "../shared/runtime/queueFunction.js";
import { QUEUES } from "../shared/storage/names.js";
import { pollMailbox } from "../shared/sync/incoming/pollMailbox.js";
import { countMessages, timedRun } from "../shared/telemetry/mailboxMetrics.js";

export const mailboxIncomingFunction = defineQueueFunction({
  name: "mailboxIncoming",
  queueName: QUEUES.incoming,
  message: z.object({ mailboxId: z.string().min(1) }),
  run: (services, { mailboxId }) => timedRun("emailsync.poll.duration", mailboxId, () => pollMailbox(services, mailboxId), (result) => {
    if (result.status === "done") countMessages(mailboxId, result.stats);
    return result.status;
  }),
});
