/**
 * @module Every message of the `mailbox-test` queue: Test & Enable steps (testJobs.ts) and bulk
 * job steps (bulkStep.ts), told apart by `type`.
 */
import { z } from "zod";
import type { Services } from "../runtime/services.js";
import { handleTestMessage, testMessage } from "../lifecycle/testJobs.js";
import { bulkPageMessage, runBulkPage } from "./bulkStep.js";

export const jobMessage = z.discriminatedUnion("type", [...testMessage.options, bulkPageMessage]);
export type JobMessage = z.infer<typeof jobMessage>;

export function handleJobMessage(services: Services, msg: JobMessage): Promise<void> {
  return msg.type === "bulkPage" ? runBulkPage(services, msg) : handleTestMessage(services, msg);
}
