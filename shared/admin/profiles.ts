/**
 * @module Profile use cases: create, change, delete, with secrets, defaults and the rule that a
 * change of where or how a profile connects sends its mailboxes back to Test & Enable. Every check
 * (schema rules, hosts, secret re-entry, unique name, If-Match) runs before a secret is written.
 */
import { randomUUID } from "node:crypto";
import { conflict, preconditionFailed, validationFailed, type ErrorDetail } from "../errors.js";
import {
  connectionChanged, defaultPort, delegationOf, DEFAULT_DELEGATION_SEPARATOR, type IncomingEndpoint, type Profile, type ProfileCreate, type ProfilePatch, type StoredCredentials, type StoredOAuth,
} from "../domain/profile.js";
import { resetConnectionStatus } from "../domain/mailbox.js";
import type { Services } from "../runtime/services.js";
import { equalsFilter, type Stored } from "../storage/documentTable.js";
import { hostProblem } from "../net/hostPolicy.js";
import { freshSecretName, planCredentials, planOAuth, removeSecrets, withSecrets, type Planned, type SecretWrite } from "./credentials.js";
import { mailboxPasswordsRepointed, profileSecretsRepointed, secretReentryRequired } from "./secretBinding.js";

interface SecretNames { incoming: string; outgoing: string; oauth: string }
/** Fresh names for the secrets a request may bring (credentials.ts says why). */
const secretNames = (id: string): SecretNames =>
  ({ incoming: freshSecretName(`prf-${id}-in`), outgoing: freshSecretName(`prf-${id}-out`), oauth: freshSecretName(`prf-${id}-oauth`) });

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

/** The incoming endpoint with its delegation: kept unless named, and back to none when mailbox credentials take over. */
function incomingWithDefaults(given: ProfilePatch["incoming"], current: Profile | undefined, authenticateUsing: Profile["authenticateUsing"]): IncomingEndpoint {
  const before = current ? delegationOf(current) : { delegation: "none" as const, delegationSeparator: DEFAULT_DELEGATION_SEPARATOR };
  const switchesToMailbox = current?.authenticateUsing === "profileCredentials" && authenticateUsing === "mailboxCredentials";
  return {
    ...endpointWithDefaults("incoming", given ?? {}, current?.incoming),
    delegation: given?.delegation ?? (switchesToMailbox ? "none" : before.delegation),
    delegationSeparator: given?.delegationSeparator ?? before.delegationSeparator,
  };
}

function delegationProblems(p: Profile): ErrorDetail[] {
  const { delegation, delegationSeparator } = delegationOf(p);
  if (delegation === "none") return [];
  if (p.authenticateUsing !== "profileCredentials") {
    return [{ path: "incoming.delegation", message: "must be none unless authenticateUsing is profileCredentials (only the profile's account can log in on behalf of mailboxes)" }];
  }
  const allowed = delegation === "saslAuthzid" ? ["auto", "saslPlain"] : ["auto", "user", "apop", "saslPlain"];
  const problems: ErrorDetail[] = [];
  if (!allowed.includes(p.incoming.authProtocol)) {
    problems.push({ path: "incoming.authProtocol", message: `must be ${allowed.join(", ")} when incoming.delegation is ${delegation}` });
  }
  if (delegation === "loginSeparator" && p.credentials?.userName.includes(delegationSeparator)) {
    problems.push({ path: "credentials.userName", message: `must not contain the delegation separator "${delegationSeparator}"` });
  }
  return problems;
}

/** What the request itself brings that the merged profile cannot use (stored leftovers are the plan's to clear). */
function requestProblems(input: ProfilePatch, p: Profile): ErrorDetail[] {
  if (input.credentials && p.authenticateUsing === "mailboxCredentials") {
    return [{ path: "credentials", message: "is used only when authenticateUsing is profileCredentials; omit it (or send null)" }];
  }
  return [];
}

function crossFieldProblems(p: Profile): ErrorDetail[] {
  const problems: ErrorDetail[] = [...delegationProblems(p)];
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

interface Built {
  profile: Profile;
  creds: Planned<StoredCredentials>;
  outCreds: Planned<StoredCredentials>;
  oauth: Planned<StoredOAuth>;
}

/** The profile a request makes of `current` (none on create), with its secrets planned, not written. */
function plan(id: string, input: ProfilePatch, current: Profile | undefined, now: string, names: SecretNames): Built {
  const authenticateUsing = input.authenticateUsing ?? current?.authenticateUsing ?? "mailboxCredentials";
  // Switching to mailbox credentials drops the profile's account: its password would never be used
  // again, and an unused stored secret is one more to leak or re-point (docs/delegation.md).
  const dropsAccount = current?.authenticateUsing === "profileCredentials" && authenticateUsing === "mailboxCredentials" && input.credentials === undefined;
  const creds = planCredentials(current?.credentials ?? null, dropsAccount ? null : input.credentials, names.incoming);
  const outCreds = planCredentials(current?.outgoingCredentials ?? null, input.outgoingCredentials, names.outgoing);
  const oauth = planOAuth(current?.oauth ?? null, input.oauth, names.oauth);
  const profile: Profile = {
    id,
    createdAt: current?.createdAt ?? now,
    updatedAt: now,
    name: input.name ?? current?.name ?? "",
    description: input.description ?? current?.description ?? "",
    owner: input.owner === undefined ? current?.owner ?? null : input.owner,
    incoming: incomingWithDefaults(input.incoming, current, authenticateUsing),
    outgoing: endpointWithDefaults("outgoing", input.outgoing ?? {}, current?.outgoing),
    authenticateUsing,
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
  return { profile, creds, outCreds, oauth };
}

const writesOf = (b: Built): (SecretWrite | null)[] => [b.creds.write, b.outCreds.write, b.oauth.write];
const secretNamesOf = (p: Profile | undefined): (string | null | undefined)[] =>
  [p?.credentials?.secretName, p?.outgoingCredentials?.secretName, p?.oauth?.secretName];

/** Link-local and metadata hosts (shared/net/hostPolicy.ts), for the hosts this request names. */
async function hostProblems(input: ProfilePatch): Promise<ErrorDetail[]> {
  const tokenHost = (url: string | undefined): string | undefined => {
    try {
      return url === undefined ? undefined : new URL(url).hostname;
    } catch {
      return undefined; // the schema already refused it
    }
  };
  const named: [string, string | undefined][] = [
    ["incoming.host", input.incoming?.host], ["outgoing.host", input.outgoing?.host], ["oauth.tokenUrl", tokenHost(input.oauth?.tokenUrl)],
  ];
  const found = await Promise.all(named.map(async ([path, host]) => {
    const problem = host === undefined ? undefined : await hostProblem(host);
    return problem === undefined ? [] : [{ path, message: `${problem}; mail servers and token endpoints may not be there` }];
  }));
  return found.flat();
}

/** 409 before any secret is written (the transaction's unique row still decides a race). Mirrors repositories.ts. */
async function checkNameFree(services: Services, p: Profile): Promise<void> {
  const holder = await services.repos.profiles.idByUniqueKey(`name:${p.name.toLowerCase()}`);
  if (holder !== undefined && holder !== p.id) throw conflict(`A profile named "${p.name}" already exists.`);
}

const MAX_MAILBOX_DETAILS = 20;
const MAX_MAILBOXES_SCANNED = 10_000;

/** `mailboxes[<id>].credentials.password` for the profile's mailboxes with a stored password, paged and capped. */
async function mailboxPasswordDetails(services: Services, profileId: string): Promise<ErrorDetail[]> {
  const details: ErrorDetail[] = [];
  let found = 0;
  let scanned = 0;
  let token: string | undefined;
  const filter = equalsFilter({ profileId })!;
  do {
    const page = await services.repos.mailboxes.list({ filter, top: 1000, continuationToken: token });
    for (const { doc } of page.items) {
      if (!doc.credentials?.secretName || doc.profileId !== profileId) continue;
      if (++found <= MAX_MAILBOX_DETAILS) {
        details.push({ path: `mailboxes[${doc.id}].credentials.password`, message: "this mailbox's password would be sent to the profile's new target" });
      }
    }
    scanned += page.items.length;
    token = page.continuationToken ?? undefined;
  } while (token && scanned < MAX_MAILBOXES_SCANNED);
  if (found > MAX_MAILBOX_DETAILS) {
    details.push({
      path: "mailboxes[*].credentials.password",
      message: `and ${found - MAX_MAILBOX_DETAILS} more mailboxes (${token ? "at least " : ""}${found} in all) whose passwords would be sent to the profile's new target`,
    });
  }
  return details;
}

/** SECRET_REENTRY_REQUIRED when the change sends a kept secret elsewhere (secretBinding.ts). */
async function checkReentry(services: Services, current: Profile, b: Built): Promise<void> {
  const details = profileSecretsRepointed(current, b.profile, { credentials: b.creds.kept, outgoingCredentials: b.outCreds.kept, oauth: b.oauth.kept });
  if (mailboxPasswordsRepointed(current, b.profile)) details.push(...(await mailboxPasswordDetails(services, current.id)));
  if (details.length > 0) throw secretReentryRequired(details);
}

export interface ChangeOptions {
  /** The caller holds the approver role: a stored secret may follow a change of target without re-entry (a server migration). */
  mayRepointSecrets?: boolean;
}

export async function createProfile(services: Services, input: ProfileCreate): Promise<Stored<Profile>> {
  const id = randomUUID();
  const built = plan(id, input, undefined, services.clock.now().toISOString(), secretNames(id));
  const problems = [...(await hostProblems(input)), ...requestProblems(input, built.profile), ...crossFieldProblems(built.profile)];
  if (problems.length > 0) throw validationFailed(problems);
  await checkNameFree(services, built.profile);
  return withSecrets(services.secrets, writesOf(built), () => services.repos.profiles.create(built.profile),
    async () => secretNamesOf((await services.repos.profiles.get(id))?.doc));
}

export async function updateProfile(
  services: Services, id: string, patch: ProfilePatch, ifMatch: string | undefined, opts: ChangeOptions = {},
): Promise<Stored<Profile>> {
  const names = secretNames(id);
  const now = services.clock.now().toISOString();
  // Every check runs before a secret is written, and again on each re-read inside the update.
  const check = async (current: Profile, hostIssues: ErrorDetail[]): Promise<Built> => {
    const built = plan(id, patch, current, now, names);
    const problems = [...hostIssues, ...requestProblems(patch, built.profile), ...crossFieldProblems(built.profile)];
    if (problems.length > 0) throw validationFailed(problems);
    if (!opts.mayRepointSecrets) await checkReentry(services, current, built);
    await checkNameFree(services, built.profile);
    return built;
  };
  const first = await services.repos.profiles.require(id);
  if (ifMatch !== undefined && ifMatch !== "*" && ifMatch !== first.etag) throw preconditionFailed();
  const checked = await check(first.doc, await hostProblems(patch));
  let reset = false;
  let superseded: (string | null)[] = [];
  const saved = await withSecrets(services.secrets, writesOf(checked), () => services.repos.profiles.update(id, async (current) => {
    const built = JSON.stringify(current) === JSON.stringify(first.doc) ? checked : await check(current, []);
    superseded = [built.creds.superseded, built.outCreds.superseded, built.oauth.superseded];
    reset = superseded.some((n) => n !== null) || writesOf(built).some((w) => w !== null) || connectionChanged(current, built.profile);
    return built.profile;
  }, ifMatch), async () => secretNamesOf((await services.repos.profiles.get(id))?.doc));
  await removeSecrets(services.secrets, superseded);
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
