/**
 * @module Routes: background job status.
 */
import { defineRoute } from "../shared/http/route.js";
import { json } from "../shared/http/responses.js";
import { jobView } from "../shared/domain/job.js";
import { notFound } from "../shared/errors.js";

/** Job ids are UUIDs; anything else cannot name a job (and must not reach a partition key). */
const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const jobRoutes = [
  defineRoute({
    name: "jobsGet", method: "GET", route: "jobs/{id}", role: "admin",
    summary: "Read a background job's progress and per-mailbox results",
    success: { status: 200, schema: jobView },
    handle: async ({ services, params }) => {
      const id = params.id ?? "";
      if (!JOB_ID.test(id)) throw notFound("Job");
      return json(200, await services.jobs.view(id));
    },
  }),
];
