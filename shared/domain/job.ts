/**
 * @module Background jobs (Test & Enable, Apply Default Settings) and their per-mailbox results.
 */
import { z } from "zod";
import { errorSummary } from "./common.js";
import { syncStatus } from "./mailbox.js";

export const jobKind = z.enum(["testMailbox", "testProfile", "applyDefaultSettings"]);
export const jobStatus = z.enum(["queued", "running", "succeeded", "failed"]);

export const jobResult = z.object({
  mailboxId: z.string(),
  incomingStatus: syncStatus,
  outgoingStatus: syncStatus,
  error: errorSummary.nullable(),
});
export type JobResult = z.infer<typeof jobResult>;

export interface Job {
  id: string;
  kind: z.infer<typeof jobKind>;
  status: z.infer<typeof jobStatus>;
  total: number;
  done: number;
  createdAt: string;
  updatedAt: string;
  profileId: string | null;
  error: z.infer<typeof errorSummary> | null;
  /** Every mailbox of the job has been queued (a profile's mailboxes are listed page by page). */
  fanoutComplete: boolean;
}

export const jobView = z.object({
  id: z.string(), kind: jobKind, status: jobStatus, total: z.number(), done: z.number(),
  createdAt: z.string(), updatedAt: z.string(), profileId: z.string().nullable(),
  error: errorSummary.nullable(), fanoutComplete: z.boolean(), results: z.array(jobResult),
});
export type JobView = z.infer<typeof jobView>;
