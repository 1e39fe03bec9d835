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
  processEmailReceivedAfter: isoTimestamp.nullable().optional().describe("overrides the profile's processEmailFrom; " + "the cut-off: mail the server received before it (the topmost readable Received: date; Date only without one; the fetch time without either) is skipped, left on the server and filed once the effective cut-off is cleared or moved earlier (docs/incoming.md)"),
  incomingFilter: incomingFilter.optional(),
};
export const mailboxCreate = z.strictObject({ owner, emailAddress, ...mailboxFields });
export const mailboxPatch = z.strictObject({ owner: owner.optional(), emailAddress: emailAddress.optional(), ...mailboxFields });
export type MailboxCreate = z.infer<typeof mailboxCreate>;
export type MailboxPatch = z.infer<typeof mailboxPatch>;

// The list filters (mailboxListQuery) are in mailboxQuery.ts; it imports this module, so a re-export here would be circular.

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

/**
 * One direction's sync state. Incoming and outgoing each have their own, so a POP3 outage never
 * postpones sends and a send never resets the incoming failure count (issue 11, as Dynamics'
 * Incoming and Outgoing Email Status).
 */
export interface DirectionState {
  status: z.infer<typeof syncStatus>;
  /** Test & Enable passed for this direction (and nothing disabled it since). */
  enabled: boolean;
  lastError: (ErrorSummary & { at: string }) | null;
  transientFailureCount: number;
  postponedUntil: string | null;
  /** Every completed run, failed or empty too. */
  lastSyncAt: string | null;
  lastSuccessfulSyncAt: string | null;
}

export const NEW_DIRECTION: Readonly<DirectionState> = Object.freeze({
  status: "notRun", enabled: false, lastError: null, transientFailureCount: 0, postponedUntil: null, lastSyncAt: null, lastSuccessfulSyncAt: null,
});

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
  incoming: DirectionState;
  outgoing: DirectionState;
  stats: MailboxStats;
}

const errorWithTime = errorSummary.extend({ at: z.string() });

export const directionStateView = z.object({
  status: syncStatus,
  enabled: z.boolean(),
  lastError: errorWithTime.nullable(),
  transientFailureCount: z.number(),
  postponedUntil: z.string().nullable(),
  lastSyncAt: z.string().nullable(),
  lastSuccessfulSyncAt: z.string().nullable(),
});

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
  /** The incoming direction's, kept at the top level for compatibility (API.md). */
  lastSyncAt: z.string().nullable(),
  lastSuccessfulSyncAt: z.string().nullable(),
  lastError: errorWithTime.nullable(),
  transientFailureCount: z.number(),
  postponedUntil: z.string().nullable(),
  stats: z.object({ received: z.number(), sent: z.number(), failed: z.number(), skipped: z.number(), quarantined: z.number() }),
  incoming: directionStateView,
  outgoing: directionStateView,
});
export type MailboxView = z.infer<typeof mailboxView>;

export function toMailboxView(m: Mailbox, etag: string): MailboxView {
  const { incoming, outgoing } = m;
  return {
    ...m,
    etag,
    credentials: viewCredentials(m.credentials),
    incomingStatus: incoming.status,
    outgoingStatus: outgoing.status,
    enabledForIncoming: incoming.enabled,
    enabledForOutgoing: outgoing.enabled,
    lastSyncAt: incoming.lastSyncAt,
    lastSuccessfulSyncAt: incoming.lastSuccessfulSyncAt,
    lastError: incoming.lastError,
    transientFailureCount: incoming.transientFailureCount,
    postponedUntil: incoming.postponedUntil,
  };
}

/** The per-direction state objects: server-kept, ignored when a client sends a mailbox back. */
export const MAILBOX_STATE_FIELDS = ["incoming", "outgoing"] as const;

export const EMPTY_STATS: MailboxStats = { received: 0, sent: 0, failed: 0, skipped: 0, quarantined: 0 };

/** Back to "needs Test & Enable": after a change of where or how the mailbox connects. */
export function resetConnectionStatus(m: Mailbox): Mailbox {
  const reset = (d: DirectionState): DirectionState => ({ ...d, status: "notRun", enabled: false, transientFailureCount: 0, postponedUntil: null });
  return { ...m, incoming: reset(m.incoming), outgoing: reset(m.outgoing) };
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
  const state = m[direction];
  if (!state.enabled) return "notEnabled";
  if (state.postponedUntil && Date.parse(state.postponedUntil) > now.getTime()) return "postponed";
  if (!isApprovedEnough(m, settings)) return "notApproved";
  return null;
}
