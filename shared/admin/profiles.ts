/**
 * @module Profile use cases: create, change, delete, with secrets, defaults and the rule that a
 * change of where or how a profile connects sends its mailboxes back to Test & Enable.
 */
import { randomUUID } from "node:crypto";
import { conflict, validationFailed, type ErrorDetail } from "../errors.js";
import { connectionChanged, defaultPort, type Profile, type ProfileCreate, type ProfilePatch } from "../domain/profile.js";
import { resetConnectionStatus } from "../domain/mailbox.js";
import type { Services } from "../runtime/services.js";
import type { Stored } from "../storage/documentTable.js";
import { applyCredentials, applyOAuth, removeSecrets } from "./credentials.js";

const secretNames = (id: string): { incoming: string; outgoing: string; oauth: string } =>
  ({ incoming: `prf-${id}-in`, outgoing: `prf-${id}-out`, oauth: `prf-${id}-oauth` });

function endpointWithDefaults<A extends string>(
  direction: "incoming" | "outgoing",
  given: { host?: string | undefined; port?: number | undefined; useSsl?: boolean | undefined; authProtocol?: A | undefined },
  current: { host: string; port: number; useSsl: boolean; authProtocol: A } | undefined,
): { host: string; port: number; useSsl: boolean; authProtocol: A } {
  const useSsl = given.useSsl ?? current?.useSsl ?? true;
  // A port is filled on save; switching SSL without naming a port moves a default port along.
  const currentPortIsDefault = current ? current.port === defaultPort(direction, current.useSsl) : true;
  const port = given.port ?? (currentPortIsDefault ? defaultPort(direction, useSsl) : current!.port);
  return {
    host: given.host ?? current?.host ?? "",
    port,
    useSsl,
    authProtocol: given.authProtocol ?? current?.authProtocol ?? ("auto" as A),
  };
}

function crossFieldProblems(p: Profile): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  const inToken = p.incoming.authProtocol === "xoauth2";
  const outToken = p.outgoing.authProtocol === "xoauth2";
  if (p.authenticateUsing === "profileCredentials") {
    // A direction that logs in with a token needs the user name only.
    const needsPassword = !inToken || (p.useSameSettingsForOutgoing && !outToken);
    if (!p.credentials) problems.push({ path: "credentials", message: "is required when authenticateUsing is profileCredentials" });
    else if (!p.credentials.secretName && needsPassword) problems.push({ path: "credentials.password", message: "is required when authenticateUsing is profileCredentials" });
    if (!p.useSameSettingsForOutgoing && !(outToken ? p.outgoingCredentials : p.outgoingCredentials?.secretName)) {
      problems.push({ path: "outgoingCredentials", message: `${outToken ? "userName is" : "userName and password are"} required when useSameSettingsForOutgoing is false` });
    }
  }
  if (inToken || outToken) {
    const why = `when ${inToken ? "incoming" : "outgoing"}.authProtocol is xoauth2`;
    if (!p.oauth) problems.push({ path: "oauth", message: `is required ${why}` });
    else if (!p.oauth.secretName) problems.push({ path: "oauth.clientSecret", message: `is required ${why}` });
  }
  return problems;
}

async function build(services: Services, id: string, input: ProfilePatch, current: Profile | undefined, now: string) {
  const names = secretNames(id);
  const creds = await applyCredentials(services.secrets, names.incoming, current?.credentials ?? null, input.credentials);
  const outCreds = await applyCredentials(services.secrets, names.outgoing, current?.outgoingCredentials ?? null, input.outgoingCredentials);
  const oauth = await applyOAuth(services.secrets, names.oauth, current?.oauth ?? null, input.oauth);
  const profile: Profile = {
    id,
    createdAt: current?.createdAt ?? now,
    updatedAt: now,
    name: input.name ?? current?.name ?? "",
    description: input.description ?? current?.description ?? "",
    incoming: endpointWithDefaults("incoming", input.incoming ?? {}, current?.incoming),
    outgoing: endpointWithDefaults("outgoing", input.outgoing ?? {}, current?.outgoing),
    authenticateUsing: input.authenticateUsing ?? current?.authenticateUsing ?? "mailboxCredentials",
    credentials: creds.value,
    useSameSettingsForOutgoing: input.useSameSettingsForOutgoing ?? current?.useSameSettingsForOutgoing ?? true,
    outgoingCredentials: outCreds.value,
    oauth: oauth.value,
    allowUntrustedCertificates: input.allowUntrustedCertificates ?? current?.allowUntrustedCertificates ?? false,
    allowCredentialsOverInsecureChannels: input.allowCredentialsOverInsecureChannels ?? current?.allowCredentialsOverInsecureChannels ?? false,
    processEmailFrom: input.processEmailFrom === undefined ? current?.processEmailFrom ?? null : input.processEmailFrom,
    minPollingIntervalMinutes: input.minPollingIntervalMinutes ?? current?.minPollingIntervalMinutes ?? 5,
    maxConcurrentConnections: input.maxConcurrentConnections ?? current?.maxConcurrentConnections ?? 10,
  };
  const problems = crossFieldProblems(profile);
  if (problems.length > 0) throw validationFailed(problems);
  return {
    profile,
    passwordChanged: creds.passwordChanged || outCreds.passwordChanged || oauth.secretChanged,
    removed: [creds.removeSecret, outCreds.removeSecret, oauth.removeSecret],
  };
}

export async function createProfile(services: Services, input: ProfileCreate): Promise<Stored<Profile>> {
  const id = randomUUID();
  const { profile } = await build(services, id, input, undefined, services.clock.now().toISOString());
  try {
    return await services.repos.profiles.create(profile);
  } catch (err) {
    await removeSecrets(services.secrets, [profile.credentials?.secretName, profile.outgoingCredentials?.secretName, profile.oauth?.secretName]);
    throw err;
  }
}

export async function updateProfile(services: Services, id: string, patch: ProfilePatch, ifMatch: string | undefined): Promise<Stored<Profile>> {
  let reset = false;
  let removed: (string | null)[] = [];
  const saved = await services.repos.profiles.update(id, async (current) => {
    const built = await build(services, id, patch, current, services.clock.now().toISOString());
    reset = built.passwordChanged || connectionChanged(current, built.profile);
    removed = built.removed;
    return built.profile;
  }, ifMatch);
  await removeSecrets(services.secrets, removed);
  if (reset) await resetMailboxesOfProfile(services, id);
  return saved;
}

/** Every mailbox of the profile must pass Test & Enable again. */
export async function resetMailboxesOfProfile(services: Services, profileId: string): Promise<number> {
  const ids = await services.repos.mailboxes.idsByLookup(`profile:${profileId}`);
  for (const mailboxId of ids) {
    await services.repos.mailboxes.update(mailboxId, (m) => ({ ...resetConnectionStatus(m), updatedAt: services.clock.now().toISOString() }));
  }
  return ids.length;
}

export async function deleteProfile(services: Services, id: string, ifMatch: string | undefined): Promise<void> {
  const { doc } = await services.repos.profiles.require(id);
  const users = await services.repos.mailboxes.idsByLookup(`profile:${id}`);
  if (users.length > 0) {
    throw conflict(`Profile "${doc.name}" is used by ${users.length} mailbox(es); move them to another profile or delete them first.`);
  }
  const { settings } = await services.settings.get();
  if (settings.defaultProfileId === id) {
    throw conflict(`Profile "${doc.name}" is the org's default profile; choose another default in /api/settings first.`);
  }
  await services.repos.profiles.delete(doc, ifMatch);
  await removeSecrets(services.secrets, [doc.credentials?.secretName, doc.outgoingCredentials?.secretName, doc.oauth?.secretName]);
}
