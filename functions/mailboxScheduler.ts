/**
 * @module Timer `mailboxScheduler`: enqueues the mailboxes that are due (shared/sync/scheduler.ts).
 */
import type { TimerFunctionDefinition } from "../shared/runtime/functionDefinitions.js";
import { getServices } from "../shared/runtime/services.js";
import { runSchedulerTick } from "../shared/sync/scheduler.js";

export const mailboxSchedulerFunction: TimerFunctionDefinition = {
  kind: "timer",
  name: "mailboxScheduler",
  schedule: "%SCHEDULER_SCHEDULE%",
  handler: async (_timer, context) => {
    const services = await getServices();
    const result = await runSchedulerTick(services);
    services.log.info("scheduler tick", { invocationId: context.invocationId, ...result });
  },
};
