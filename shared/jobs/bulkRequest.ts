/**
 * @module The body of `POST /api/mailboxes/bulk` (API.md "Mailboxes"): an action, the mailboxes
 * (a list of ids or the list filters), and for `update` the PATCH fields. Everything that can be
 * checked without the mailboxes is checked here, so a bad request is one 400 and queues nothing.
 */
import { z } from "zod";
import { bulkAction } from "../domain/job.js";
import { mailboxPatch } from "../domain/mailbox.js";
import { mailboxFilterBody } from "../domain/mailboxQuery.js";
import { stripReadOnly } from "../http/validation.js";

/** One job acts on at most this many mailboxes (docs/bulk.md says why). */
export const MAX_BULK_MAILBOXES = 10_000;

/** Ids are server-generated UUIDs or ULIDs; anything else names no mailbox and must not reach a key. */
const mailboxId = z.string().regex(/^[A-Za-z0-9-]{1,64}$/, "is not a mailbox id");

/**
 * The PATCH fields that make sense for many mailboxes at once. An address and an owner are unique
 * per mailbox; a password would have to wait in the job, in plain text, until each mailbox is
 * done, and passwords are stored only as secrets: those are set one mailbox at a time.
 */
const bulkChanges = mailboxPatch.superRefine((p, ctx) => {
  if (Object.keys(p).length === 0) ctx.addIssue({ code: "custom", path: [], message: "must change at least one field" });
  if (p.emailAddress !== undefined) ctx.addIssue({ code: "custom", path: ["emailAddress"], message: "is unique per mailbox: change it one mailbox at a time" });
  if (p.owner !== undefined) ctx.addIssue({ code: "custom", path: ["owner"], message: "is unique per mailbox: change it one mailbox at a time" });
  if (p.credentials?.password !== undefined) {
    ctx.addIssue({ code: "custom", path: ["credentials", "password"], message: "cannot be set by a bulk job: enter passwords one mailbox at a time (PATCH /api/mailboxes/{id})" });
  }
});

export const bulkRequest = z.strictObject({
  action: bulkAction,
  mailboxIds: z.array(mailboxId)
    .min(1, "must name at least one mailbox")
    .max(MAX_BULK_MAILBOXES, `at most ${MAX_BULK_MAILBOXES} mailboxes per job: split the list into several jobs`)
    .optional(),
  filter: mailboxFilterBody.optional(),
  /** Read-only fields are ignored here as in a PATCH body (a GET response sent back). */
  changes: z.preprocess((v) => stripReadOnly(v), bulkChanges).optional()
    .describe("update only: the PATCH fields applied to each mailbox, validated as PATCH validates them; not emailAddress, owner or credentials.password"),
}).superRefine((b, ctx) => {
  if (b.mailboxIds === undefined && b.filter === undefined) ctx.addIssue({ code: "custom", path: ["mailboxIds"], message: "send mailboxIds or filter" });
  if (b.mailboxIds !== undefined && b.filter !== undefined) ctx.addIssue({ code: "custom", path: ["filter"], message: "send mailboxIds or filter, not both" });
  if (b.action === "update" && b.changes === undefined) ctx.addIssue({ code: "custom", path: ["changes"], message: "is required for action update" });
  if (b.action !== "update" && b.changes !== undefined) ctx.addIssue({ code: "custom", path: ["changes"], message: "is accepted only with action update" });
});
export type BulkRequest = z.infer<typeof bulkRequest>;
