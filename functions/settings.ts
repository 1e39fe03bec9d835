/**
 * @module Routes: org email settings (GET, PUT whole document, PATCH merge).
 */
import { defineRoute } from "../shared/http/route.js";
import { entity } from "../shared/http/responses.js";
import { mergeOrgSettings, orgSettingsPatch, orgSettingsPut, orgSettingsView, type OrgSettings } from "../shared/domain/orgSettings.js";
import { validationFailed } from "../shared/errors.js";
import type { Services } from "../shared/runtime/services.js";
import type { StoredSettings } from "../shared/storage/settingsStore.js";
import { scheduleAllMailboxes } from "../shared/sync/scheduler.js";

const view = (s: StoredSettings) => ({ ...s.settings, etag: s.etag, updatedAt: s.updatedAt });

async function save(services: Services, change: (current: OrgSettings) => OrgSettings, ifMatch: string | undefined) {
  const { before, saved } = await services.settings.update(async (current) => {
    const next = change(current);
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
    handle: async ({ services, body, ifMatch }) => save(services, () => body, ifMatch),
  }),
  defineRoute({
    name: "settingsPatch", method: "PATCH", route: "settings", role: "admin",
    summary: "Change some org email settings (nested objects merge)", body: orgSettingsPatch,
    success: { status: 200, schema: orgSettingsView },
    handle: async ({ services, body, ifMatch }) => save(services, (current) => mergeOrgSettings(current, body), ifMatch),
  }),
];
