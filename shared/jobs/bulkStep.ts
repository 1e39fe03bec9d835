/**
 * @module One step of a bulk job (queue `mailbox-test`): one stored page of mailbox ids. Approve,
 * reject and update are done here, one mailbox after another with a few in flight; Test & Enable
 * and Apply Default Settings become one mailbox message each (shared/lifecycle/testJobs.ts), which
 * hold the profile's connection slots. The step then queues the next page.
 *
 * Resuming: every mailbox's result is a row of its own (jobStore.ts), written when that mailbox is
 * done, and a step skips a mailbox that has one. A worker that dies mid-page leaves its message
 * to be delivered again; the new delivery skips what was done and carries on. The one mailbox
 * that may be done twice is the one in hand when the worker died, and every action is idempotent.
 */
import { z } from "zod";
import type { Job } from "../domain/job.js";
import type { Services } from "../runtime/services.js";
import { markRunning, sendJobMessage, type TestMessage } from "../lifecycle/testJobs.js";
import { isInline, runInlineAction } from "./bulkActions.js";

/** Ids per stored page and per step: a step of inline actions stays well inside a function run. */
export const BULK_PAGE_SIZE = 100;
/** Mailboxes of a page in flight at once: enough to hide Storage latency, few enough to be polite. */
const IN_FLIGHT = 8;

export const bulkPageMessage = z.object({ type: z.literal("bulkPage"), jobId: z.string(), page: z.number().int().min(0) });
export type BulkPageMessage = z.infer<typeof bulkPageMessage>;

/** Runs `work` on each item with at most `limit` at a time; the first failure stops new work and is thrown. */
async function eachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

async function doMailbox(services: Services, job: Job, mailboxId: string): Promise<void> {
  if (await services.jobs.getResult(job.id, mailboxId)) return; // done before the worker died, or by a duplicate step
  const action = job.action;
  if (isInline(action)) {
    await services.jobs.putResult(job.id, await runInlineAction(services, job, action, mailboxId));
    return;
  }
  const msg: TestMessage = {
    type: "mailbox", jobId: job.id, mailboxId, applyDefaults: action === "applyDefaultSettings",
    checkSecrets: job.mayRepointSecrets !== true,
  };
  await sendJobMessage(services, msg);
}

export async function runBulkPage(services: Services, msg: BulkPageMessage): Promise<void> {
  const found = await services.jobs.getJob(msg.jobId);
  // A job is stored after all its pages (jobStore.createWithTargets); without it there is nothing to do.
  if (!found || found.job.kind !== "bulk" || !found.job.action || found.job.status === "failed") return;
  const job = found.job;
  await markRunning(services, job.id);
  const ids = await services.jobs.getTargets(job.id, msg.page);
  if (ids === undefined) {
    const now = services.clock.now().toISOString();
    await services.jobs.update(job.id, (j) => ({ ...j, status: "failed", error: { code: "INTERNAL", message: `Page ${msg.page} of the job's mailboxes is missing.`, transient: false }, updatedAt: now }));
    return;
  }
  await eachLimited(ids, IN_FLIGHT, (id) => doMailbox(services, job, id));
  if (msg.page + 1 < (job.pages ?? 0)) await sendJobMessage(services, { type: "bulkPage", jobId: job.id, page: msg.page + 1 });
}
