/**
 * @module Apply Default Settings to one mailbox: the org's default profile and methods, then
 * "needs Test & Enable" again. Moving a mailbox to the default profile may not send its stored
 * password to another server without the approver (decision 0014): the route checks every
 * mailbox up front; a bulk job checks each one as it goes, so one refusal fails only that mailbox.
 */
import { resetConnectionStatus, type Mailbox } from "../domain/mailbox.js";
import type { Profile } from "../domain/profile.js";
import type { ErrorDetail } from "../errors.js";
import type { Services } from "../runtime/services.js";
import type { Stored } from "../storage/documentTable.js";
import { mailboxPasswordRepointed, secretReentryRequired } from "./secretBinding.js";

/** Profiles read once per use case: many mailboxes share a few profiles. */
export function profileCache(services: Services): (id: string | null) => Promise<Profile | null> {
  const profiles = new Map<string, Promise<Profile | null>>();
  return (id) => {
    if (!id) return Promise.resolve(null);
    let found = profiles.get(id);
    if (!found) {
      found = services.repos.profiles.get(id).then((p) => p?.doc ?? null);
      profiles.set(id, found);
    }
    return found;
  };
}

/** The detail of SECRET_REENTRY_REQUIRED when moving `m` to `defaultProfileId` re-points its password; null otherwise. */
export async function defaultsRepointPassword(
  m: Mailbox, defaultProfileId: string | null, profileOf: (id: string | null) => Promise<Profile | null>,
): Promise<ErrorDetail | null> {
  if (m.profileId === defaultProfileId) return null;
  const moved = { ...m, profileId: defaultProfileId };
  if (!mailboxPasswordRepointed(m, moved, await profileOf(m.profileId), await profileOf(defaultProfileId))) return null;
  return { path: `mailboxes[${m.id}].credentials.password`, message: "moving this mailbox to the default profile would send its stored password to another server" };
}

export async function applyDefaultSettings(services: Services, mailboxId: string, opts: { mayRepointSecrets: boolean }): Promise<Stored<Mailbox>> {
  const { settings } = await services.settings.get();
  const profileOf = profileCache(services);
  return services.repos.mailboxes.update(mailboxId, async (m) => {
    if (!opts.mayRepointSecrets) {
      const refused = await defaultsRepointPassword(m, settings.defaultProfileId, profileOf);
      if (refused) throw secretReentryRequired([refused]);
    }
    return resetConnectionStatus({
      ...m, profileId: settings.defaultProfileId, incomingMethod: settings.defaultIncomingMethod,
      outgoingMethod: settings.defaultOutgoingMethod, updatedAt: services.clock.now().toISOString(),
    });
  });
}
