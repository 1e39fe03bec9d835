/**
 * @module Routes: Test & Enable (per mailbox, per profile) and Apply Default Settings. Each starts
 * a background job on the mailbox-test queue and answers 202 with its id (GET /api/jobs/{id}).
 */
import { z } from "zod";
import { defineRoute } from "../shared/http/route.js";
import { json } from "../shared/http/responses.js";
import { validationFailed } from "../shared/errors.js";
import { startApplyDefaults, startMailboxTest, startProfileTest } from "../shared/lifecycle/testJobs.js";
import { secretReentryRequired } from "../shared/admin/secretBinding.js";
import { defaultsRepointPassword, profileCache } from "../shared/admin/applyDefaults.js";

const accepted = z.object({ jobId: z.string() });
const applyDefaultsBody = z.strictObject({ mailboxIds: z.array(z.string().min(1)).min(1).max(1000) });

export const testAndEnableRoutes = [
  defineRoute({
    name: "mailboxesTestAndEnable", method: "POST", route: "mailboxes/{id}/test-and-enable", role: "admin",
    summary: "Test the mailbox's POP3 and SMTP connections and enable each direction that passes",
    success: { status: 202, schema: accepted },
    handle: async ({ services, params }) => json(202, { jobId: (await startMailboxTest(services, params.id ?? "")).id }),
  }),
  defineRoute({
    name: "profilesTestAndEnable", method: "POST", route: "profiles/{id}/test-and-enable", role: "admin",
    summary: "Test and enable every mailbox of the profile in the background",
    success: { status: 202, schema: accepted },
    handle: async ({ services, params }) => json(202, { jobId: (await startProfileTest(services, params.id ?? "")).id }),
  }),
  defineRoute({
    name: "mailboxesApplyDefaultSettings", method: "POST", route: "mailboxes/apply-default-settings", role: "admin",
    summary: "Set the default profile and methods on the mailboxes, then test and enable each", body: applyDefaultsBody,
    success: { status: 202, schema: accepted },
    handle: async ({ services, body, caller }) => {
      const { settings } = await services.settings.get();
      if (!settings.defaultProfileId) throw validationFailed([{ path: "mailboxIds", message: "the org has no default profile: set defaultProfileId in /api/settings first" }]);
      const ids = [...new Set(body.mailboxIds)];
      const found = await Promise.all(ids.map((id) => services.repos.mailboxes.get(id)));
      const missing = found.flatMap((m, i) => (m ? [] : [i]));
      if (missing.length > 0) throw validationFailed(missing.map((i) => ({ path: `mailboxIds.${i}`, message: "no mailbox has this id" })));
      // Moving a mailbox to the default profile must not send its stored password elsewhere (decision 0014).
      if (!(caller?.roles.has("approver") ?? false)) {
        const profileOf = profileCache(services);
        const details = [];
        for (const stored of found) {
          const refused = stored ? await defaultsRepointPassword(stored.doc, settings.defaultProfileId, profileOf) : null;
          if (refused) details.push(refused);
        }
        if (details.length > 0) throw secretReentryRequired(details);
      }
      return json(202, { jobId: (await startApplyDefaults(services, ids)).id });
    },
  }),
];
