/**
 * @module What the console's operations page shows (GET /api/operations): each queue's
 * approximate depth, poison queues included, the scheduler's last run, and the dependency checks.
 * The scheduler's last run is not something the platform tells the app (the dev host keeps no
 * timer status), so the timer definition is wrapped (`recordingLastRun`) to write one row per
 * timer after each run, in the coordination table's `operations` partition.
 */
import { z } from "zod";
import type { TableClient } from "@azure/data-tables";
import type { QueueServiceClient } from "@azure/storage-queue";
import type { TimerFunctionDefinition } from "../runtime/functionDefinitions.js";
import { getServices, type Services } from "../runtime/services.js";
import { checkHealth } from "../runtime/health.js";
import { ALL_QUEUES, TABLES } from "../storage/names.js";
import { toAppError } from "../errors.js";

const PARTITION = "operations";

export const timerRunView = z.object({
  startedAt: z.string(),
  finishedAt: z.string(),
  durationMs: z.number(),
  outcome: z.enum(["succeeded", "failed"]),
  errorCode: z.string().nullable().describe("the error's stable code when the run failed"),
});
export type TimerRun = z.infer<typeof timerRunView>;

const check = z.enum(["ok", "failed"]);
export const operationsView = z.object({
  queues: z.array(z.object({
    name: z.string(),
    poison: z.boolean().describe("a <queue>-poison queue: messages that failed maxDequeueCount times"),
    approximateMessageCount: z.number().nullable().describe("null when the queue could not be read"),
  })),
  scheduler: z.object({
    schedule: z.string().describe("NCRONTAB of mailboxScheduler (SCHEDULER_SCHEDULE)"),
    lastRun: timerRunView.nullable().describe("null until the timer has run once against this storage"),
  }),
  health: z.object({ status: z.enum(["ok", "unhealthy"]), checks: z.object({ tables: check, queues: check, blobs: check, secrets: check }) }),
});
export type OperationsView = z.infer<typeof operationsView>;

/** GET /api/operations takes no parameters; an unknown one is a 400 like anywhere else. */
export const operationsQuery = z.strictObject({});

async function queueDepths(queues: QueueServiceClient): Promise<OperationsView["queues"]> {
  return Promise.all(ALL_QUEUES.map(async (name) => {
    let approximateMessageCount: number | null = null;
    try {
      approximateMessageCount = (await queues.getQueueClient(name).getProperties()).approximateMessagesCount ?? 0;
    } catch {
      // Named as unreadable (null); the health check says which dependency is down.
    }
    return { name, poison: name.endsWith("-poison"), approximateMessageCount };
  }));
}

interface TimerRunEntity extends TimerRun {
  partitionKey: string;
  rowKey: string;
}

export async function readLastRun(table: TableClient, timerName: string): Promise<TimerRun | null> {
  try {
    const e = await table.getEntity<TimerRunEntity>(PARTITION, timerName);
    return { startedAt: e.startedAt, finishedAt: e.finishedAt, durationMs: e.durationMs, outcome: e.outcome, errorCode: e.errorCode ?? null };
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return null;
    throw err;
  }
}

export async function writeLastRun(table: TableClient, timerName: string, run: TimerRun): Promise<void> {
  await table.upsertEntity<TimerRunEntity>({ partitionKey: PARTITION, rowKey: timerName, ...run }, "Replace");
}

export async function operationsOverview(services: Services): Promise<OperationsView> {
  const [queues, lastRun, health] = await Promise.all([
    queueDepths(services.storage.queues),
    readLastRun(services.storage.table(TABLES.coordination), "mailboxScheduler"),
    checkHealth({ storage: services.storage, secrets: services.secrets }),
  ]);
  return { queues, scheduler: { schedule: services.appSettings.SCHEDULER_SCHEDULE, lastRun }, health };
}

/**
 * The timer as it was, plus a row saying when it last ran and how it ended. Failing to write the
 * row is logged and never fails the run; the run's own error is rethrown after the row is written.
 */
export function recordingLastRun(def: TimerFunctionDefinition): TimerFunctionDefinition {
  return {
    ...def,
    handler: async (timer, context) => {
      const started = Date.now();
      let errorCode: string | null = null;
      try {
        await def.handler(timer, context);
      } catch (err) {
        errorCode = toAppError(err).code;
        throw err;
      } finally {
        const services = await getServices().catch(() => undefined);
        const run: TimerRun = {
          startedAt: new Date(started).toISOString(), finishedAt: new Date().toISOString(), durationMs: Date.now() - started,
          outcome: errorCode ? "failed" : "succeeded", errorCode,
        };
        await (services ? writeLastRun(services.storage.table(TABLES.coordination), def.name, run) : Promise.reject(new Error("no services")))
          .catch((err: unknown) => services?.log.warn("could not record the timer's last run", { function: def.name, code: toAppError(err).code }));
      }
    },
  };
}
