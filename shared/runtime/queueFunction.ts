/**
 * @module What every queue trigger of the app does around its work: get the services, validate
 * the message with zod, and drop (with a log line) a message that can never be valid, because
 * retrying it would only walk it into the poison queue five times slower.
 */
import type { InvocationContext } from "@azure/functions";
import type { z } from "zod";
import type { QueueFunctionDefinition } from "./functionDefinitions.js";
import { getServices, type Services } from "./services.js";

export function defineQueueFunction<S extends z.ZodType>(spec: {
  name: string;
  queueName: string;
  message: S;
  run: (services: Services, message: z.infer<S>, context: InvocationContext) => Promise<unknown>;
}): QueueFunctionDefinition {
  return {
    kind: "queue",
    name: spec.name,
    queueName: spec.queueName,
    connection: "AzureWebJobsStorage",
    handler: async (message, context) => {
      const services = await getServices();
      const parsed = spec.message.safeParse(message);
      if (!parsed.success) {
        services.log.warn(`${spec.name}: malformed message dropped`, { invocationId: context.invocationId });
        return;
      }
      const result = await spec.run(services, parsed.data, context);
      services.log.info(spec.name, { invocationId: context.invocationId, result });
    },
  };
}
