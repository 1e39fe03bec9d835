/**
 * @module Queue trigger `mailboxTest` (queue `mailbox-test`): one step of a Test & Enable job
 * (shared/lifecycle/testJobs.ts) or of a bulk job (shared/jobs/bulkStep.ts).
 */
import { defineQueueFunction } from "../shared/runtime/queueFunction.js";
import { QUEUES } from "../shared/storage/names.js";
import { handleJobMessage, jobMessage } from "../shared/jobs/jobMessages.js";

export const mailboxTestFunction = defineQueueFunction({
  name: "mailboxTest",
  queueName: QUEUES.test,
  message: jobMessage,
  run: (services, message) => handleJobMessage(services, message),
});
