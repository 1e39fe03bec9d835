/**
 * @module Mailbox use cases: create, change, delete, approve, reject. Defaults come from the org
 * settings (profile, methods) and the owner type (incoming filter), as in Dynamics 365. Every check
 * (rules, secret re-entry, unique address and owner, If-Match) runs before a secret is written.
 */
import { randomUUID } from "node:crypto";
import { conflict, preconditionFailed, validationFailed, type ErrorDetail } from "../errors.js";
import { EMPTY_STATS, NEW_DIRECTION, resetConnectionStatus, type Mailbox, type MailboxCreate, type MailboxPatch } from "../domain/mailbox.js";
import type { Profile, StoredCredentials } from "../domain/profile.js";
import type { Services } from "../runtime/services.js";
import type { Stored } from "../storage/documentTable.js";
import { freshSecretName, planCredentials, removeSecrets, withSecrets, type Planned } from "./credentials.js";
import { mailboxPasswordRepointed, secretReentryRequired } from "./secretBinding.js";
import { scheduleMailbox } from "../sync/scheduler.js";

const secretBase = (id: string): string => `mbx-${id}-cred`;

export interface ChangeOptions {
  /** The caller holds the approver role: a stored password may follow a change of target without re-entry. */
  mayRepointSecrets?: boolean;
}

async function checkRules(services: Services, m: Mailbox): Promise<void> {
  const problems: ErrorDetail[] = [];
  if (m.profileId && !(await services.repos.profiles.get(m.profileId))) {
    problems.push({ path: "profileId", message: "no profile has this id" });
  }
  if (m.deleteEmailsAfterProcessing && m.owner.type !== "queue" && !m.isForwardMailbox) {
    problems.push({ path: "deleteEmailsAfterProcessing", message: "can be true only for queue mailboxes and forward mailboxes" });
  }
  if (problems.length > 0) throw validationFailed(problems);
}

/** 409 before any secret is written (the transaction's unique rows still decide a race). Mirrors repositories.ts. */
async function checkUnique(services: Services, m: Mailbox): Promise<void> {
  const keys = [
    { key: `address:${m.emailAddress}`, message: `A mailbox with the address ${m.emailAddress} already exists.` },
    { key: `owner:${m.owner.type}:${m.owner.id}`, message: `The ${m.owner.type} ${m.owner.id} already has a mailbox (one mailbox per owner).` },
  ];
  for (const { key, message } of keys) {
    const holder = await services.repos.mailboxes.idByUniqueKey(key);
    if (holder !== undefined && holder !== m.id) throw conflict(message);
  }
}

/** A kept password that the new user name or profile would send elsewhere (secretBinding.ts). */
async function checkReentry(services: Services, current: Mailbox, next: Mailbox): Promise<void> {
  const profile = async (id: string | null): Promise<Profile | null> => (id ? (await services.repos.profiles.get(id))?.doc ?? null : null);
  const before = await profile(current.profileId);
  const after = next.profileId === current.profileId ? before : await profile(next.profileId);
  if (mailboxPasswordRepointed(current, next, before, after)) {
    throw secretReentryRequired([{ path: "credentials.password", message: "would be sent to a server or account it was not entered for; enter it again in this request" }]);
  }
}

const storedSecret = async (services: Services, id: string): Promise<(string | null | undefined)[]> =>
  [(await services.repos.mailboxes.get(id))?.doc.credentials?.secretName];

export async function createMailbox(services: Services, input: MailboxCreate): Promise<Stored<Mailbox>> {
  const { settings } = await services.settings.get();
  const id = randomUUID();
  const now = services.clock.now().toISOString();
  const creds = planCredentials(null, input.credentials, freshSecretName(secretBase(id)));
  const incomingMethod = input.incomingMethod ?? settings.defaultIncomingMethod;
  const outgoingMethod = input.outgoingMethod ?? settings.defaultOutgoingMethod;
  // The default profile is for mailboxes the app connects for; one that only forwards or does
  // nothing gets none unless it names one (issue 11: "the default profile is applied whatever the method").
  const syncs = incomingMethod === "serverSideSync" || outgoingMethod === "serverSideSync";
  const mailbox: Mailbox = {
    id,
    createdAt: now,
    updatedAt: now,
    owner: input.owner,
    emailAddress: input.emailAddress,
    profileId: input.profileId === undefined ? (syncs ? settings.defaultProfileId : null) : input.profileId,
    incomingMethod,
    outgoingMethod,
    credentials: creds.value,
    active: input.active ?? true,
    isForwardMailbox: input.isForwardMailbox ?? false,
    deleteEmailsAfterProcessing: input.deleteEmailsAfterProcessing ?? false,
    processEmailReceivedAfter: input.processEmailReceivedAfter ?? null,
    incomingFilter: input.incomingFilter ?? (input.owner.type === "user" ? "responsesToTracked" : "all"),
    approval: "pendingApproval",
    incoming: { ...NEW_DIRECTION },
    outgoing: { ...NEW_DIRECTION },
    stats: { ...EMPTY_STATS },
  };
  await checkRules(services, mailbox);
  await checkUnique(services, mailbox);
  const saved = await withSecrets(services.secrets, [creds.write], () => services.repos.mailboxes.create(mailbox), () => storedSecret(services, id));
  await scheduleMailbox(services, id);
  return saved;
}

export async function updateMailbox(
  services: Services, id: string, patch: MailboxPatch, ifMatch: string | undefined, opts: ChangeOptions = {},
): Promise<Stored<Mailbox>> {
  const newName = freshSecretName(secretBase(id));
  const now = services.clock.now().toISOString();
  // Every check runs before the secret is written, and again on each re-read inside the update.
  const check = async (current: Mailbox): Promise<{ next: Mailbox; creds: Planned<StoredCredentials> }> => {
    const creds = planCredentials(current.credentials, patch.credentials, newName);
    const next: Mailbox = {
      ...current,
      owner: patch.owner ?? current.owner,
      emailAddress: patch.emailAddress ?? current.emailAddress,
      profileId: patch.profileId === undefined ? current.profileId : patch.profileId,
      incomingMethod: patch.incomingMethod ?? current.incomingMethod,
      outgoingMethod: patch.outgoingMethod ?? current.outgoingMethod,
      credentials: creds.value,
      active: patch.active ?? current.active,
      isForwardMailbox: patch.isForwardMailbox ?? current.isForwardMailbox,
      deleteEmailsAfterProcessing: patch.deleteEmailsAfterProcessing ?? current.deleteEmailsAfterProcessing,
      processEmailReceivedAfter: patch.processEmailReceivedAfter === undefined ? current.processEmailReceivedAfter : patch.processEmailReceivedAfter,
      incomingFilter: patch.incomingFilter ?? current.incomingFilter,
      updatedAt: now,
    };
    await checkRules(services, next);
    if (!opts.mayRepointSecrets) await checkReentry(services, current, next);
    await checkUnique(services, next);
    return { next, creds };
  };
  const first = await services.repos.mailboxes.require(id);
  if (ifMatch !== undefined && ifMatch !== "*" && ifMatch !== first.etag) throw preconditionFailed();
  const checked = await check(first.doc);
  let superseded: string | null = null;
  const saved = await withSecrets(services.secrets, [checked.creds.write], () => services.repos.mailboxes.update(id, async (current) => {
    const { next, creds } = JSON.stringify(current) === JSON.stringify(first.doc) ? checked : await check(current);
    superseded = creds.superseded;
    const addressChanged = next.emailAddress !== current.emailAddress;
    const reconnect = addressChanged || next.profileId !== current.profileId || creds.write !== null || creds.superseded !== null ||
      JSON.stringify(next.credentials) !== JSON.stringify(current.credentials);
    let result = reconnect ? resetConnectionStatus(next) : next;
    // A new address is a new mailbox to approve (Dynamics resets approval on an address change).
    if (addressChanged && result.approval !== "empty") result = { ...result, approval: "pendingApproval" };
    return result;
  }, ifMatch), () => storedSecret(services, id));
  await removeSecrets(services.secrets, [superseded]);
  // Any change may make the mailbox eligible (activated, new method); the tick decides.
  await scheduleMailbox(services, id);
  return saved;
}

export async function deleteMailbox(services: Services, id: string, ifMatch: string | undefined): Promise<void> {
  const { doc } = await services.repos.mailboxes.require(id);
  await services.repos.mailboxes.delete(doc, ifMatch);
  await Promise.all([services.due.remove("incoming", id), services.due.remove("outgoing", id)]);
  await removeSecrets(services.secrets, [doc.credentials?.secretName]);
}

export async function setApproval(services: Services, id: string, approval: "approved" | "rejected", ifMatch: string | undefined): Promise<Stored<Mailbox>> {
  const saved = await services.repos.mailboxes.update(id, (m) => ({ ...m, approval, updatedAt: services.clock.now().toISOString() }), ifMatch);
  // Approval takes effect at once: an approved mailbox is due now, a rejected one leaves the index.
  if (approval === "approved") await scheduleMailbox(services, id);
  else await Promise.all([services.due.remove("incoming", id), services.due.remove("outgoing", id)]);
  return saved;
}
