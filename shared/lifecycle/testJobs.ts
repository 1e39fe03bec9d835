/**
 * @module Test & Enable and Apply Default Settings as background jobs on the `mailbox-test`
 * queue. A profile's mailboxes are listed one page per message and each mailbox is tested by a
 * message of its own, so a profile with thousands of mailboxes never makes one long function run,
 * and each test holds a connection slot of the profile, so the whole job stays within
 * maxConcurrentConnections across instances.
 */
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { AppError, toAppError } from "../errors.js";
import { outcomeOf, type Job, type JobResult } from "../domain/job.js";
import type { Services } from "../runtime/services.js";
import { QUEUES } from "../storage/names.js";
import { slotScope } from "../coordination/connectionSlots.js";
import { applyDefaultSettings } from "../admin/applyDefaults.js";
import { testConnections, type ConnectionTestOptions } from "./connectionTest.js";
import { applyTestResult } from "./applyTestResult.js";

export const PAGE_SIZE = 100;
const SLOT_LEASE_MS = 2 * 60_000;
const SLOT_RETRY_SECONDS = 30;

export const testMessage = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("mailbox"), jobId: z.string(), mailboxId: z.string(), applyDefaults: z.boolean().default(false),
    /** Apply Default Settings refuses, for this mailbox, to re-point its stored password (bulk jobs without the approver). */
    checkSecrets: z.boolean().optional(),
  }),
  z.object({ type: z.literal("profilePage"), jobId: z.string(), profileId: z.string(), continuationToken: z.string().nullable() }),
]);
export type TestMessage = z.infer<typeof testMessage>;

async function newJob(services: Services, kind: Job["kind"], total: number, profileId: string | null, fanoutComplete: boolean): Promise<Job> {
  const now = services.clock.now().toISOString();
  const job: Job = { id: randomUUID(), kind, status: "queued", total, done: 0, createdAt: now, updatedAt: now, profileId, error: null, fanoutComplete };
  await services.jobs.create(job);
  return job;
}

/** Every message of the mailbox-test queue goes through here (bulk job steps too, shared/jobs/). */
export const sendJobMessage = (services: Services, msg: { type: string; jobId: string; [field: string]: unknown }, delaySeconds?: number): Promise<void> =>
  services.queue.send(QUEUES.test, msg, delaySeconds ? { delaySeconds } : {});
const send = (services: Services, msg: TestMessage, delaySeconds?: number): Promise<void> => sendJobMessage(services, msg, delaySeconds);

export async function startMailboxTest(services: Services, mailboxId: string): Promise<Job> {
  await services.repos.mailboxes.require(mailboxId);
  const job = await newJob(services, "testMailbox", 1, null, true);
  await send(services, { type: "mailbox", jobId: job.id, mailboxId, applyDefaults: false });
  return job;
}

export async function startProfileTest(services: Services, profileId: string): Promise<Job> {
  await services.repos.profiles.require(profileId);
  const job = await newJob(services, "testProfile", 0, profileId, false);
  await send(services, { type: "profilePage", jobId: job.id, profileId, continuationToken: null });
  return job;
}

export async function startApplyDefaults(services: Services, mailboxIds: string[]): Promise<Job> {
  const job = await newJob(services, "applyDefaultSettings", mailboxIds.length, null, true);
  // The route has checked every mailbox's secrets up front (functions/testAndEnable.ts).
  for (const mailboxId of mailboxIds) await send(services, { type: "mailbox", jobId: job.id, mailboxId, applyDefaults: true });
  return job;
}

export async function markRunning(services: Services, jobId: string): Promise<void> {
  const found = await services.jobs.getJob(jobId);
  if (found?.job.status === "queued") await services.jobs.update(jobId, (j) => (j.status === "queued" ? { ...j, status: "running", updatedAt: services.clock.now().toISOString() } : j));
}

/** A result's error: the summary, with the per-field details of a refused change. */
export const resultErrorOf = (err: AppError): JobResult["error"] =>
  ({ ...err.toSummary(), ...(err.details.length > 0 ? { details: err.details } : {}) });

async function failedResult(services: Services, jobId: string, mailboxId: string, err: AppError): Promise<void> {
  await services.jobs.putResult(jobId, { mailboxId, outcome: "failed", incomingStatus: "notRun", outgoingStatus: "notRun", error: resultErrorOf(err) });
}

async function testOne(services: Services, msg: Extract<TestMessage, { type: "mailbox" }>, opts: ConnectionTestOptions): Promise<void> {
  // A message sent twice (a redelivered fan-out or bulk step) finds the first one's result: done already.
  if (await services.jobs.getResult(msg.jobId, msg.mailboxId)) return;
  let found = await services.repos.mailboxes.get(msg.mailboxId);
  if (!found) return failedResult(services, msg.jobId, msg.mailboxId, new AppError("NOT_FOUND", "The mailbox was not found."));
  if (msg.applyDefaults) found = await applyDefaultSettings(services, msg.mailboxId, { mayRepointSecrets: msg.checkSecrets !== true });
  const profile = found.doc.profileId ? (await services.repos.profiles.get(found.doc.profileId))?.doc : undefined;
  if (!profile) {
    return failedResult(services, msg.jobId, msg.mailboxId, new AppError("CONFIGURATION_INVALID", "The mailbox has no email server profile; set profileId (or the org default profile)."));
  }
  const slot = await services.slots.tryAcquire(slotScope(profile, msg.mailboxId), profile.maxConcurrentConnections, SLOT_LEASE_MS);
  if (!slot) return send(services, { ...msg, applyDefaults: false }, SLOT_RETRY_SECONDS);
  try {
    const result = await testConnections(services, profile, found.doc, opts);
    const tested = await applyTestResult(services, msg.mailboxId, result);
    // Defaults applied are a success even when the mailbox's methods leave nothing to test.
    const outcome = tested.error ? "failed" : msg.applyDefaults ? "succeeded" : outcomeOf(tested);
    await services.jobs.putResult(msg.jobId, { ...tested, outcome });
  } finally {
    await slot.release();
  }
}

async function fanOut(services: Services, msg: Extract<TestMessage, { type: "profilePage" }>): Promise<void> {
  const page = await services.repos.mailboxes.lookupPage(`profile:${msg.profileId}`, PAGE_SIZE, msg.continuationToken ?? undefined);
  for (const mailboxId of page.ids) await send(services, { type: "mailbox", jobId: msg.jobId, mailboxId, applyDefaults: false });
  const pageKey = msg.continuationToken ?? "";
  await services.jobs.update(msg.jobId, (j) => {
    // A redelivered page message must not count its mailboxes twice.
    const seen = (j as Job & { pagesSeen?: string[] }).pagesSeen ?? [];
    if (seen.includes(pageKey)) return j;
    return { ...j, total: j.total + page.ids.length, fanoutComplete: page.continuationToken === null, pagesSeen: [...seen, pageKey], updatedAt: services.clock.now().toISOString() } as Job;
  });
  if (page.continuationToken) await send(services, { type: "profilePage", jobId: msg.jobId, profileId: msg.profileId, continuationToken: page.continuationToken });
}

export async function handleTestMessage(services: Services, msg: TestMessage, opts: ConnectionTestOptions = {}): Promise<void> {
  await markRunning(services, msg.jobId);
  try {
    if (msg.type === "mailbox") await testOne(services, msg, opts);
    else await fanOut(services, msg);
  } catch (thrown) {
    const err = toAppError(thrown);
    if (err.transient) throw err; // storage hiccup: let the queue retry the message
    if (msg.type === "mailbox") await failedResult(services, msg.jobId, msg.mailboxId, err);
    else await services.jobs.update(msg.jobId, (j) => ({ ...j, status: "failed", error: err.toSummary(), updatedAt: services.clock.now().toISOString() }));
  }
}
