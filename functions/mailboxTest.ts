/**
 * @module Queue trigger `mailboxTest`: one step of a Test & Enable job (shared/lifecycle/testJobs.ts).
 */
import type { QueueFunctionDefinition } from "../shared/runtime/functionDefinitions.js";
import { getServices } from "../shared/runtime/services.js";
import { QUEUES } from "../shared/storage/names.js";
import { handleTestMessage, testMessage } from "../shared/lifecycle/testJobs.js";

export const mailboxTestFunction: QueueFunctionDefinition = {
  kind: "queue",
  name: "mailboxTest",
  queueName: QUEUES.test,
  connection: "AzureWebJobsStorage",
  handler: async (message, context) => {
    const services = await getServices();
    const parsed = testMessage.safeParse(message);
    if (!parsed.success) {
      services.log.warn("mailboxTest: message dropped, not a test job step", { invocationId: context.invocationId });
      return;
    }
    await handleTestMessage(services, parsed.data);
  },
};
