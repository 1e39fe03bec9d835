/**
 * @module Timer `mailboxScheduler`: enqueues the mailboxes that are due (shared/sync/scheduler.ts),
 * then samples every queue's depth, -poison queues included (shared/telemetry/queueDepths.ts).
 */
import type { TimerFunctionDefinition } from "../shared/runtime/functionDefinitions.js";
import { getServices } from "../shared/runtime/services.js";
import { runSchedulerTick } from "../shared/sync/scheduler.js";
import { sampleQueueDepths } from "../shared/telemetry/queueDepths.js";

export const mailboxSchedulerFunction: TimerFunctionDefinition = {
  kind: "timer",
  name: "mailboxScheduler",
  schedule: "%SCHEDULER_SCHEDULE%",
  handler: async (_timer, context) => {
    const services = await getServices();
    const result = await runSchedulerTick(services);
    const queueDepths = await sampleQueueDepths(services.storage.queues, services.log);
    services.log.info("scheduler tick", { invocationId: context.invocationId, ...result, queueDepths });
  },
};
