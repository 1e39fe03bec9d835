/**
 * @module Queue trigger `mailboxTest` (queue `mailbox-test`): one step of a Test & Enable job
 * (shared/lifecycle/testJobs.ts).
 */
import { defineQueueFunction } from "../shared/runtime/queueFunction.js";
import { QUEUES } from "../shared/storage/names.js";
import { handleTestMessage, testMessage } from "../shared/lifecycle/testJobs.js";

export const mailboxTestFunction = defineQueueFunction({
  name: "mailboxTest",
  queueName: QUEUES.test,
  message: testMessage,
  run: (services, message) => handleTestMessage(services, message),
});
