/**
 * @module Background jobs. A job and its per-mailbox results share a partition (the job id):
 * results are rows of their own, so a profile with thousands of mailboxes never hits the 1 MiB
 * entity limit, and workers record results without rewriting one shared document. A bulk job's
 * mailbox ids are stored the same way, one row per page (`t:00000`, ...).
 */
import { RestError, type TableClient, type TransactionAction } from "@azure/data-tables";
import { outcomeOf, type Job, type JobResult, type JobView } from "../domain/job.js";
import { notFound } from "../errors.js";
import { encodeKey, odataString, rowKeyPrefixFilter, storageError } from "./documentTable.js";

const JOB_RK = "job";
const RESULT_PREFIX = "r:";
const TARGET_PREFIX = "t:";
/** Storage takes at most 100 entities in one entity-group transaction. */
const BATCH = 100;
const targetKey = (page: number): string => TARGET_PREFIX + String(page).padStart(5, "0");

interface JobEntity { partitionKey: string; rowKey: string; doc: string }
interface ResultEntity { partitionKey: string; rowKey: string; doc: string }

export class JobStore {
  constructor(private readonly client: TableClient) {}

  async create(job: Job): Promise<void> {
    try {
      await this.client.createEntity<JobEntity>({ partitionKey: job.id, rowKey: JOB_RK, doc: JSON.stringify(job) });
    } catch (err) {
      throw storageError(err);
    }
  }

  /**
   * Stores a bulk job's pages of mailbox ids, then the job: a job that can be read has all its
   * pages. A page holds at most a few hundred ids (well under a property's 32K characters).
   */
  async createWithTargets(job: Job, pages: string[][]): Promise<void> {
    const rows: TransactionAction[] = pages.map((ids, i) => ["create", { partitionKey: job.id, rowKey: targetKey(i), ids: JSON.stringify(ids) }]);
    try {
      for (let i = 0; i < rows.length; i += BATCH) await this.client.submitTransaction(rows.slice(i, i + BATCH));
    } catch (err) {
      throw storageError(err);
    }
    await this.create(job);
  }

  /** One page of a bulk job's mailbox ids; undefined past the last page. */
  async getTargets(jobId: string, page: number): Promise<string[] | undefined> {
    try {
      const e = await this.client.getEntity<{ ids: string }>(jobId, targetKey(page));
      return JSON.parse(e.ids) as string[];
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return undefined;
      throw storageError(err);
    }
  }

  /** The result recorded for one mailbox of a job, if any: a redelivered step skips that mailbox. */
  async getResult(jobId: string, mailboxId: string): Promise<JobResult | undefined> {
    try {
      const e = await this.client.getEntity<ResultEntity>(jobId, RESULT_PREFIX + encodeKey(mailboxId));
      return JSON.parse(e.doc) as JobResult;
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return undefined;
      throw storageError(err);
    }
  }

  async getJob(id: string): Promise<{ job: Job; etag: string } | undefined> {
    try {
      const e = await this.client.getEntity<JobEntity>(id, JOB_RK);
      return { job: JSON.parse(e.doc) as Job, etag: e.etag };
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return undefined;
      throw storageError(err);
    }
  }

  /** Applies `change` with optimistic concurrency, re-reading on a lost race. */
  async update(id: string, change: (job: Job) => Job): Promise<Job> {
    for (;;) {
      const current = await this.getJob(id);
      if (!current) throw notFound("Job");
      const next = change(current.job);
      try {
        await this.client.updateEntity<JobEntity>({ partitionKey: id, rowKey: JOB_RK, doc: JSON.stringify(next) }, "Replace", { etag: current.etag });
        return next;
      } catch (err) {
        if (!(err instanceof RestError && err.statusCode === 412)) throw storageError(err);
      }
    }
  }

  /** Records one mailbox's result; returns true when it is new (a redelivered message returns false). */
  async putResult(jobId: string, result: JobResult): Promise<boolean> {
    try {
      await this.client.createEntity<ResultEntity>({ partitionKey: jobId, rowKey: RESULT_PREFIX + encodeKey(result.mailboxId), doc: JSON.stringify(result) });
      return true;
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 409) {
        await this.client.updateEntity<ResultEntity>({ partitionKey: jobId, rowKey: RESULT_PREFIX + encodeKey(result.mailboxId), doc: JSON.stringify(result) }, "Replace");
        return false;
      }
      throw storageError(err);
    }
  }

  async view(id: string): Promise<JobView> {
    const found = await this.getJob(id);
    if (!found) throw notFound("Job");
    const results: JobResult[] = [];
    try {
      const filter = `PartitionKey eq '${odataString(id)}' and ${rowKeyPrefixFilter(RESULT_PREFIX)}`;
      for await (const e of this.client.listEntities<ResultEntity>({ queryOptions: { filter } })) results.push(JSON.parse(e.doc) as JobResult);
    } catch (err) {
      throw storageError(err);
    }
    // Progress is counted from the result rows (one per mailbox, written idempotently), so
    // thousands of workers never contend on the job entity itself.
    const job = found.job;
    const done = results.length;
    const finished = job.fanoutComplete && done >= job.total && (job.status === "queued" || job.status === "running");
    // Listed field by field: the stored job also holds working state (pages, changes) that is not the view's.
    return {
      id: job.id, kind: job.kind, status: finished ? "succeeded" : job.status, total: job.total, done,
      createdAt: job.createdAt, updatedAt: job.updatedAt, profileId: job.profileId, action: job.action ?? null,
      error: job.error, fanoutComplete: job.fanoutComplete,
      results: results.map((r) => ({ ...r, outcome: outcomeOf(r) })),
    };
  }
}
