/**
 * @module Route: bulk actions on mailboxes (approve, reject, Test & Enable, Apply Default
 * Settings, update), run as a background job (shared/jobs/). Answers 202 with the job's id.
 */
import { z } from "zod";
import { defineRoute } from "../shared/http/route.js";
import { json } from "../shared/http/responses.js";
import { requireRole } from "../shared/http/auth.js";
import { bulkRequest } from "../shared/jobs/bulkRequest.js";
import { startBulkJob } from "../shared/jobs/bulkStart.js";

export const mailboxBulkRoutes = [
  defineRoute({
    name: "mailboxesBulk", method: "POST", route: "mailboxes/bulk", role: "admin",
    summary: "Approve, reject, Test & Enable, apply default settings to or update up to 10,000 mailboxes in the background (approve and reject need the approver role)",
    body: bulkRequest,
    success: { status: 202, schema: z.object({ jobId: z.string() }), description: "Queued; follow it at GET /api/jobs/{jobId}" },
    handle: async ({ services, body, caller }) => {
      // As the single-mailbox approve and reject routes: the approver role, checked before anything is stored.
      if (caller && (body.action === "approve" || body.action === "reject")) requireRole(caller, "approver");
      const job = await startBulkJob(services, body, { approver: caller?.roles.has("approver") ?? false });
      return json(202, { jobId: job.id });
    },
  }),
];
