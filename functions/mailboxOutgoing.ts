/**
 * @module Queue trigger `mailboxOutgoing` (queue `mailbox-outgoing`): one outgoing run for the
 * mailbox named in the message (shared/sync/outgoing/sendMailbox.ts), timed by its result; sent
 * and failed emails are counted where their counters reach the mailbox (mailboxOutcome.ts).
 */
import { z } from "zod";
import { defineQueueFunction } from "../shared/runtime/queueFunction.js";
import { QUEUES } from "../shared/storage/names.js";
import { sendMailbox } from "../shared/sync/outgoing/sendMailbox.js";
import { timedRun } from "../shared/telemetry/mailboxMetrics.js";

export const mailboxOutgoingFunction = defineQueueFunction({
  name: "mailboxOutgoing",
  queueName: QUEUES.outgoing,
  message: z.object({ mailboxId: z.string().min(1) }),
  run: (services, { mailboxId }) => timedRun("emailsync.send.duration", mailboxId, () => sendMailbox(services, mailboxId), (result) => result),
});
