/**
 * @module Background jobs (Test & Enable, Apply Default Settings, bulk actions) and their
 * per-mailbox results.
 */
import { z } from "zod";
import { errorSummary } from "./common.js";
import { syncStatus, type MailboxPatch } from "./mailbox.js";

export const jobKind = z.enum(["testMailbox", "testProfile", "applyDefaultSettings", "bulk"]);
export const jobStatus = z.enum(["queued", "running", "succeeded", "failed"]);
export const bulkAction = z.enum(["approve", "reject", "testAndEnable", "applyDefaultSettings", "update"]);
export type BulkAction = z.infer<typeof bulkAction>;

/** succeeded: done; failed: see `error`; skipped: nothing to do (already so, or nothing to test). */
export const jobOutcome = z.enum(["succeeded", "failed", "skipped"]);
export type JobOutcome = z.infer<typeof jobOutcome>;

/** A result's error, with the per-field details of a refused change (VALIDATION_FAILED, SECRET_REENTRY_REQUIRED). */
export const resultError = errorSummary.extend({
  details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});

/** One mailbox's result as stored; rows written before `outcome` existed get it on read (outcomeOf). */
export const jobResult = z.object({
  mailboxId: z.string(),
  outcome: jobOutcome.optional(),
  incomingStatus: syncStatus,
  outgoingStatus: syncStatus,
  error: resultError.nullable(),
});
export type JobResult = z.infer<typeof jobResult>;
export const jobResultView = jobResult.extend({ outcome: jobOutcome });
export type JobResultView = z.infer<typeof jobResultView>;

/** A Test & Enable result: an error fails it; neither direction tested (both methods none) skips it. */
export function outcomeOf(r: JobResult): JobOutcome {
  if (r.outcome) return r.outcome;
  if (r.error) return "failed";
  return r.incomingStatus === "notRun" && r.outgoingStatus === "notRun" ? "skipped" : "succeeded";
}

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
  /** Bulk jobs: what is done to each mailbox. */
  action?: BulkAction;
  /** Bulk `update`: the PATCH applied to each mailbox (never a password: refused up front). */
  changes?: MailboxPatch;
  /** Bulk jobs: the caller held the approver role, so stored secrets may follow a change (decision 0014). */
  mayRepointSecrets?: boolean;
  /** Bulk jobs: how many pages of mailbox ids the job stores (jobStore target rows). */
  pages?: number;
}

export const jobView = z.object({
  id: z.string(), kind: jobKind, status: jobStatus, total: z.number(), done: z.number(),
  createdAt: z.string(), updatedAt: z.string(), profileId: z.string().nullable(),
  action: bulkAction.nullable(),
  error: errorSummary.nullable(), fanoutComplete: z.boolean(), results: z.array(jobResultView),
});
export type JobView = z.infer<typeof jobView>;
