/**
 * @module Starting a bulk job: the checks that need Storage (the profile an update names, the
 * org's default profile, how many mailboxes a filter matches), then the mailbox ids stored in
 * pages beside the job, then the first step queued. The set of mailboxes is fixed here, when the
 * admin asks, as a selection in a view is: a mailbox that starts matching the filter later is not
 * part of the job.
 */
import { randomUUID } from "node:crypto";
import { validationFailed } from "../errors.js";
import type { Job } from "../domain/job.js";
import type { Services } from "../runtime/services.js";
import { matchingMailboxIds } from "../admin/mailboxList.js";
import { sendJobMessage } from "../lifecycle/testJobs.js";
import { MAX_BULK_MAILBOXES, type BulkRequest } from "./bulkRequest.js";
import { BULK_PAGE_SIZE, type BulkPageMessage } from "./bulkStep.js";

export interface BulkCaller {
  /** The approver role: stored secrets may follow a change of target (decision 0014). */
  approver: boolean;
}

async function checkUpFront(services: Services, req: BulkRequest): Promise<void> {
  const profileId = req.changes?.profileId;
  if (profileId && !(await services.repos.profiles.get(profileId))) {
    throw validationFailed([{ path: "changes.profileId", message: "no profile has this id" }]);
  }
  if (req.action === "applyDefaultSettings" && !(await services.settings.get()).settings.defaultProfileId) {
    throw validationFailed([{ path: "action", message: "the org has no default profile: set defaultProfileId in /api/settings first" }]);
  }
}

async function targetsOf(services: Services, req: BulkRequest): Promise<string[]> {
  if (req.mailboxIds) return [...new Set(req.mailboxIds)];
  const ids = await matchingMailboxIds(services, req.filter ?? {}, MAX_BULK_MAILBOXES);
  if (ids.length > MAX_BULK_MAILBOXES) {
    throw validationFailed([{
      path: "filter",
      message: `matches more than ${MAX_BULK_MAILBOXES} mailboxes, the most one job takes: narrow it (profileId, emailAddressPrefix, ...) and run several jobs`,
    }]);
  }
  return ids;
}

export async function startBulkJob(services: Services, req: BulkRequest, caller: BulkCaller): Promise<Job> {
  await checkUpFront(services, req);
  const ids = await targetsOf(services, req);
  const pages: string[][] = [];
  for (let i = 0; i < ids.length; i += BULK_PAGE_SIZE) pages.push(ids.slice(i, i + BULK_PAGE_SIZE));
  const now = services.clock.now().toISOString();
  const job: Job = {
    id: randomUUID(), kind: "bulk", status: "queued", total: ids.length, done: 0, createdAt: now, updatedAt: now,
    profileId: null, error: null, fanoutComplete: true, action: req.action,
    ...(req.changes ? { changes: req.changes } : {}), mayRepointSecrets: caller.approver, pages: pages.length,
  };
  await services.jobs.createWithTargets(job, pages);
  const first: BulkPageMessage = { type: "bulkPage", jobId: job.id, page: 0 };
  if (pages.length > 0) await sendJobMessage(services, first);
  return job;
}
