/**
 * @module Queue trigger `mailboxIncoming` (queue `mailbox-incoming`): one poll of each mailbox the
 * message names (shared/sync/dueMessage.ts: one, or a chunk the scheduler claimed), through
 * shared/sync/incoming/pollMailbox.ts, each timed, with what it filed counted
 * (shared/telemetry/mailboxMetrics.ts).
 */
import { defineQueueFunction } from "../shared/runtime/queueFunction.js";
import { QUEUES } from "../shared/storage/names.js";
import { deliveriesOf, mailboxMessage, runMailboxMessage } from "../shared/sync/dueMessage.js";
import { pollMailbox } from "../shared/sync/incoming/pollMailbox.js";
import { countMessages, timedRun } from "../shared/telemetry/mailboxMetrics.js";

export const mailboxIncomingFunction = defineQueueFunction({
  name: "mailboxIncoming",
  queueName: QUEUES.incoming,
  message: mailboxMessage,
  run: (services, message, context) => runMailboxMessage(services, "incoming", message, deliveriesOf(context), ({ mailboxId, every }) =>
    timedRun("emailsync.poll.duration", mailboxId, () => pollMailbox(services, mailboxId, every === undefined ? {} : { every }), (result) => {
      if (result.status === "done") countMessages(mailboxId, result.stats);
      return result.status;
    })),
});
