/**
 * @module Routes: org email settings (GET, PUT whole document, PATCH merge). Whether email is
 * processed only for approved mailboxes is the approver's to change (DESIGN.md point 10): an admin
 * key that could lift it would make approval meaningless.
 */
import { defineRoute } from "../shared/http/route.js";
import type { Caller } from "../shared/http/auth.js";
import { entity } from "../shared/http/responses.js";
import { mergeOrgSettings, orgSettingsPatch, orgSettingsPut, orgSettingsView, type OrgSettings } from "../shared/domain/orgSettings.js";
import { AppError, validationFailed } from "../shared/errors.js";
import type { Services } from "../shared/runtime/services.js";
import type { StoredSettings } from "../shared/storage/settingsStore.js";
import { scheduleAllMailboxes } from "../shared/sync/scheduler.js";

const view = (s: StoredSettings) => ({ ...s.settings, etag: s.etag, updatedAt: s.updatedAt });

const APPROVAL_FIELDS = ["processEmailOnlyForApprovedUsers", "processEmailOnlyForApprovedQueues"] as const;

/**
 * 403 when `next` changes an approval requirement and the caller is not an approver. Compared with
 * the document being replaced (re-read on every retry), so sending the current value is fine.
 */
function requireApproverFor(caller: Caller | null, current: OrgSettings, next: OrgSettings): void {
  if (caller?.roles.has("approver")) return;
  const changed = APPROVAL_FIELDS.filter((f) => current[f] !== next[f]);
  if (changed.length === 0) return;
  throw new AppError("FORBIDDEN",
    `Changing ${changed.join(" and ")} needs the approver role (the master key, or the Email.Approver app role); send the current value or leave it out.`,
    { details: changed.map((path) => ({ path, message: "needs the approver role to change" })) });
}

async function save(services: Services, caller: Caller | null, change: (current: OrgSettings) => OrgSettings, ifMatch: string | undefined) {
  const { before, saved } = await services.settings.update(async (current) => {
    const next = change(current);
    requireApproverFor(caller, current, next);
    if (next.defaultProfileId && !(await services.repos.profiles.get(next.defaultProfileId))) {
      throw validationFailed([{ path: "defaultProfileId", message: "no profile has this id" }]);
    }
    return next;
  }, ifMatch, services.clock.now());
  // Mailboxes waiting only for approval become eligible at once when approval stops being required.
  const next = saved.settings;
  const relaxed = (before.processEmailOnlyForApprovedUsers && !next.processEmailOnlyForApprovedUsers) ||
    (before.processEmailOnlyForApprovedQueues && !next.processEmailOnlyForApprovedQueues);
  if (relaxed) await scheduleAllMailboxes(services);
  return entity(200, view(saved));
}

export const settingsRoutes = [
  defineRoute({
    name: "settingsGet", method: "GET", route: "settings", role: "admin",
    summary: "Read the org email settings",
    success: { status: 200, schema: orgSettingsView },
    handle: async ({ services }) => entity(200, view(await services.settings.get())),
  }),
  defineRoute({
    name: "settingsPut", method: "PUT", route: "settings", role: "admin",
    summary: "Replace the org email settings", body: orgSettingsPut,
    success: { status: 200, schema: orgSettingsView },
    errors: [{ status: 403, description: "The key or principal lacks the role, or the request changes processEmailOnlyForApprovedUsers/Queues without the approver role" }],
    handle: async ({ services, caller, body, ifMatch }) => save(services, caller, () => body, ifMatch),
  }),
  defineRoute({
    name: "settingsPatch", method: "PATCH", route: "settings", role: "admin",
    summary: "Change some org email settings (nested objects merge)", body: orgSettingsPatch,
    success: { status: 200, schema: orgSettingsView },
    errors: [{ status: 403, description: "The key or principal lacks the role, or the request changes processEmailOnlyForApprovedUsers/Queues without the approver role" }],
    handle: async ({ services, caller, body, ifMatch }) => save(services, caller, (current) => mergeOrgSettings(current, body), ifMatch),
  }),
];
