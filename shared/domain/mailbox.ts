/**
 * @module Mailboxes: one per user or queue, bound to a profile. Request schemas, the stored shape
 * with its server-kept status fields, and the eligibility rule of API.md ("Mailboxes", end).
 */
import { z } from "zod";
import { credentialsInput, credentialsView, emailAddress, entityMeta, errorSummary, isoTimestamp } from "./common.js";
import { incomingMethod, outgoingMethod, type OrgSettings } from "./orgSettings.js";
import { viewCredentials, type StoredCredentials } from "./profile.js";

export const ownerType = z.enum(["user", "queue"]);
export const approvalStatus = z.enum(["empty", "pendingApproval", "approved", "rejected"]);
export const syncStatus = z.enum(["notRun", "success", "failure"]);
export const incomingFilter = z.enum(["all", "responsesToTracked", "fromKnownContacts", "fromEmailEnabledRecords", "none"]);

const owner = z.strictObject({
  type: ownerType,
  id: z.string().trim().min(1).max(200),
  name: z.string().max(200).optional(),
});

const mailboxFields = {
  profileId: z.string().min(1).nullable().optional(),
  incomingMethod: incomingMethod.optional(),
  outgoingMethod: outgoingMethod.optional(),
  credentials: credentialsInput.nullable().optional(),
  active: z.boolean().optional(),
  isForwardMailbox: z.boolean().optional(),
  deleteEmailsAfterProcessing: z.boolean().optional(),
  processEmailReceivedAfter: isoTimestamp.nullable().optional(),
  incomingFilter: incomingFilter.optional(),
};
export const mailboxCreate = z.strictObject({ owner, emailAddress, ...mailboxFields });
export const mailboxPatch = z.strictObject({ owner: owner.optional(), emailAddress: emailAddress.optional(), ...mailboxFields });
export type MailboxCreate = z.infer<typeof mailboxCreate>;
export type MailboxPatch = z.infer<typeof mailboxPatch>;

export const mailboxListQuery = z.strictObject({
  profileId: z.string().min(1).optional(),
  ownerType: ownerType.optional(),
  approval: approvalStatus.optional(),
  incomingStatus: syncStatus.optional(),
});

export interface ErrorSummary {
  code: string;
  message: string;
  transient: boolean;
}

export interface MailboxStats {
  received: number;
  sent: number;
  failed: number;
  skipped: number;
  quarantined: number;
}

export interface Mailbox {
  id: string;
  createdAt: string;
  updatedAt: string;
  owner: { type: z.infer<typeof ownerType>; id: string; name?: string | undefined };
  emailAddress: string;
  profileId: string | null;
  incomingMethod: z.infer<typeof incomingMethod>;
  outgoingMethod: z.infer<typeof outgoingMethod>;
  credentials: StoredCredentials | null;
  active: boolean;
  isForwardMailbox: boolean;
  deleteEmailsAfterProcessing: boolean;
  processEmailReceivedAfter: string | null;
  incomingFilter: z.infer<typeof incomingFilter>;
  approval: z.infer<typeof approvalStatus>;
  incomingStatus: z.infer<typeof syncStatus>;
  outgoingStatus: z.infer<typeof syncStatus>;
  enabledForIncoming: boolean;
  enabledForOutgoing: boolean;
  lastSyncAt: string | null;
  lastSuccessfulSyncAt: string | null;
  lastError: (ErrorSummary & { at: string }) | null;
  transientFailureCount: number;
  postponedUntil: string | null;
  stats: MailboxStats;
}

export const mailboxView = z.object({
  ...entityMeta,
  owner: z.object({ type: ownerType, id: z.string(), name: z.string().optional() }),
  emailAddress: z.string(),
  profileId: z.string().nullable(),
  incomingMethod,
  outgoingMethod,
  credentials: credentialsView.nullable(),
  active: z.boolean(),
  isForwardMailbox: z.boolean(),
  deleteEmailsAfterProcessing: z.boolean(),
  processEmailReceivedAfter: z.string().nullable(),
  incomingFilter,
  approval: approvalStatus,
  incomingStatus: syncStatus,
  outgoingStatus: syncStatus,
  enabledForIncoming: z.boolean(),
  enabledForOutgoing: z.boolean(),
  lastSyncAt: z.string().nullable(),
  lastSuccessfulSyncAt: z.string().nullable(),
  lastError: errorSummary.extend({ at: z.string() }).nullable(),
  transientFailureCount: z.number(),
  postponedUntil: z.string().nullable(),
  stats: z.object({ received: z.number(), sent: z.number(), failed: z.number(), skipped: z.number(), quarantined: z.number() }),
});
export type MailboxView = z.infer<typeof mailboxView>;

export function toMailboxView(m: Mailbox, etag: string): MailboxView {
  return { ...m, etag, credentials: viewCredentials(m.credentials) };
}

export const EMPTY_STATS: MailboxStats = { received: 0, sent: 0, failed: 0, skipped: 0, quarantined: 0 };

/** Back to "needs Test & Enable": after a change of where or how the mailbox connects. */
export function resetConnectionStatus(m: Mailbox): Mailbox {
  return {
    ...m,
    incomingStatus: "notRun",
    outgoingStatus: "notRun",
    enabledForIncoming: false,
    enabledForOutgoing: false,
    transientFailureCount: 0,
    postponedUntil: null,
  };
}

export function isApprovedEnough(m: Mailbox, settings: OrgSettings): boolean {
  const required = m.owner.type === "user" ? settings.processEmailOnlyForApprovedUsers : settings.processEmailOnlyForApprovedQueues;
  return !required || m.approval === "approved";
}

export type Direction = "incoming" | "outgoing";

/** Why a mailbox is not processed in a direction right now, or null when it is eligible. */
export function ineligibility(m: Mailbox, direction: Direction, settings: OrgSettings, now: Date): string | null {
  if (!m.active) return "inactive";
  if (!m.profileId) return "noProfile";
  if ((direction === "incoming" ? m.incomingMethod : m.outgoingMethod) === "none") return "methodNone";
  if (direction === "outgoing" && m.isForwardMailbox) return "forwardMailboxSendsNothing";
  if (!(direction === "incoming" ? m.enabledForIncoming : m.enabledForOutgoing)) return "notEnabled";
  if (m.postponedUntil && Date.parse(m.postponedUntil) > now.getTime()) return "postponed";
  if (!isApprovedEnough(m, settings)) return "notApproved";
  return null;
}
