/**
 * @module What a bulk job does to one mailbox for the actions that need no connection: approve,
 * reject and update, each through the same use case as its single-mailbox route
 * (shared/admin/mailboxes.ts), so the same rules, secret checks and scheduling apply. Every action
 * is idempotent: doing a mailbox again after a crash leaves it as doing it once would.
 */
import { AppError, toAppError } from "../errors.js";
import type { Job, JobOutcome, JobResult } from "../domain/job.js";
import type { Mailbox } from "../domain/mailbox.js";
import type { Services } from "../runtime/services.js";
import { setApproval, updateMailbox } from "../admin/mailboxes.js";
import { resultErrorOf } from "../lifecycle/testJobs.js";

export type InlineAction = "approve" | "reject" | "update";
export const isInline = (action: Job["action"]): action is InlineAction => action === "approve" || action === "reject" || action === "update";

function result(mailboxId: string, outcome: JobOutcome, m: Mailbox | null, err: AppError | null): JobResult {
  return {
    mailboxId, outcome,
    incomingStatus: m?.incoming.status ?? "notRun",
    outgoingStatus: m?.outgoing.status ?? "notRun",
    error: err ? resultErrorOf(err) : null,
  };
}

async function act(services: Services, job: Job, action: InlineAction, mailboxId: string): Promise<JobResult> {
  if (action === "update") {
    if (!job.changes) throw new AppError("CONFIGURATION_INVALID", "The bulk update job has no changes.");
    const saved = await updateMailbox(services, mailboxId, job.changes, undefined, { mayRepointSecrets: job.mayRepointSecrets === true });
    return result(mailboxId, "succeeded", saved.doc, null);
  }
  const approval = action === "approve" ? "approved" : "rejected";
  const found = await services.repos.mailboxes.require(mailboxId);
  if (found.doc.approval === approval) return result(mailboxId, "skipped", found.doc, null);
  const saved = await setApproval(services, mailboxId, approval, undefined);
  return result(mailboxId, "succeeded", saved.doc, null);
}

/**
 * One mailbox's result. A refusal (not found, a rule, SECRET_REENTRY_REQUIRED, a conflict) is that
 * mailbox's `failed` result and the job goes on; Storage or the secret store being unavailable is
 * thrown, so the queue retries the step and it resumes at this mailbox.
 */
export async function runInlineAction(services: Services, job: Job, action: InlineAction, mailboxId: string): Promise<JobResult> {
  try {
    return await act(services, job, action, mailboxId);
  } catch (thrown) {
    const err = toAppError(thrown);
    if (err.transient && err.code !== "INTERNAL") throw err;
    // A bug fails this mailbox, not the job; its cause goes to the log only (never into the result).
    if (err.code === "INTERNAL") services.log.error("bulk action failed", { jobId: job.id, mailboxId, errorCode: err.code, cause: err.cause });
    return result(mailboxId, "failed", (await services.repos.mailboxes.get(mailboxId))?.doc ?? null, err);
  }
}
