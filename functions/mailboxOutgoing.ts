/**
 * @module Queue trigger `mailboxOutgoing` (queue `mailbox-outgoing`): one outgoing run for each
 * mailbox the message names (shared/sync/dueMessage.ts: one, or a chunk the scheduler claimed),
 * through shared/sync/outgoing/sendMailbox.ts, timed by its result; sent and failed emails are
 * counted where their counters reach the mailbox (mailboxOutcome.ts).
 */
import { defineQueueFunction } from "../shared/runtime/queueFunction.js";
import { QUEUES } from "../shared/storage/names.js";
import { deliveriesOf, mailboxMessage, runMailboxMessage } from "../shared/sync/dueMessage.js";
import { sendMailbox } from "../shared/sync/outgoing/sendMailbox.js";
import { timedRun } from "../shared/telemetry/mailboxMetrics.js";

export const mailboxOutgoingFunction = defineQueueFunction({
  name: "mailboxOutgoing",
  queueName: QUEUES.outgoing,
  message: mailboxMessage,
  run: (services, message, context) => runMailboxMessage(services, "outgoing", message, deliveriesOf(context), ({ mailboxId }) =>
    timedRun("emailsync.send.duration", mailboxId, () => sendMailbox(services, mailboxId), (result) => result)),
});
