/**
 * @module Mailbox use cases: create, change, delete, approve, reject. Defaults come from the org
 * settings (profile, methods) and the owner type (incoming filter), as in Dynamics 365.
 */
import { randomUUID } from "node:crypto";
import { validationFailed, type ErrorDetail } from "../errors.js";
import { EMPTY_STATS, resetConnectionStatus, type Mailbox, type MailboxCreate, type MailboxPatch } from "../domain/mailbox.js";
import type { Services } from "../runtime/services.js";
import type { Stored } from "../storage/documentTable.js";
import { applyCredentials, removeSecrets } from "./credentials.js";
import { scheduleMailbox } from "../sync/scheduler.js";

const secretName = (id: string): string => `mbx-${id}-cred`;

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

export async function createMailbox(services: Services, input: MailboxCreate): Promise<Stored<Mailbox>> {
  const { settings } = await services.settings.get();
  const id = randomUUID();
  const now = services.clock.now().toISOString();
  const creds = await applyCredentials(services.secrets, secretName(id), null, input.credentials);
  const mailbox: Mailbox = {
    id,
    createdAt: now,
    updatedAt: now,
    owner: input.owner,
    emailAddress: input.emailAddress,
    profileId: input.profileId === undefined ? settings.defaultProfileId : input.profileId,
    incomingMethod: input.incomingMethod ?? settings.defaultIncomingMethod,
    outgoingMethod: input.outgoingMethod ?? settings.defaultOutgoingMethod,
    credentials: creds.value,
    active: input.active ?? true,
    isForwardMailbox: input.isForwardMailbox ?? false,
    deleteEmailsAfterProcessing: input.deleteEmailsAfterProcessing ?? false,
    processEmailReceivedAfter: input.processEmailReceivedAfter ?? null,
    incomingFilter: input.incomingFilter ?? (input.owner.type === "user" ? "responsesToTracked" : "all"),
    approval: "pendingApproval",
    incomingStatus: "notRun",
    outgoingStatus: "notRun",
    enabledForIncoming: false,
    enabledForOutgoing: false,
    lastSyncAt: null,
    lastSuccessfulSyncAt: null,
    lastError: null,
    transientFailureCount: 0,
    postponedUntil: null,
    stats: { ...EMPTY_STATS },
  };
  try {
    await checkRules(services, mailbox);
    const saved = await services.repos.mailboxes.create(mailbox);
    await scheduleMailbox(services, id);
    return saved;
  } catch (err) {
    await removeSecrets(services.secrets, [mailbox.credentials?.secretName]);
    throw err;
  }
}

export async function updateMailbox(services: Services, id: string, patch: MailboxPatch, ifMatch: string | undefined): Promise<Stored<Mailbox>> {
  let removed: string | null = null;
  const saved = await services.repos.mailboxes.update(id, async (current) => {
    const creds = await applyCredentials(services.secrets, secretName(id), current.credentials, patch.credentials);
    removed = creds.removeSecret;
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
      updatedAt: services.clock.now().toISOString(),
    };
    await checkRules(services, next);
    const addressChanged = next.emailAddress !== current.emailAddress;
    const reconnect = addressChanged || next.profileId !== current.profileId || creds.passwordChanged ||
      JSON.stringify(next.credentials) !== JSON.stringify(current.credentials);
    let result = reconnect ? resetConnectionStatus(next) : next;
    // A new address is a new mailbox to approve (Dynamics resets approval on an address change).
    if (addressChanged && result.approval !== "empty") result = { ...result, approval: "pendingApproval" };
    return result;
  }, ifMatch).finally(() => removeSecrets(services.secrets, [removed]));
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
