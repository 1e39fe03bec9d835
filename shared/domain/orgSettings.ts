/**
 * @module Org email settings: one document for the whole deployment (API.md "Org email settings").
 */
import { z } from "zod";

export const incomingMethod = z.enum(["none", "serverSideSync", "forwardMailbox"]);
export const outgoingMethod = z.enum(["none", "serverSideSync"]);

const trackingToken = z.strictObject({
  enabled: z.boolean(),
  prefix: z.string().max(20).regex(/^[^\s\r\n]*$/, "must not contain spaces or line breaks"),
  baseNumber: z.number().int().min(0).max(999_999_999),
  userDigits: z.number().int().min(1).max(9),
  counterDigits: z.number().int().min(1).max(9),
});

const alerts = z.strictObject({
  error: z.boolean(),
  warning: z.boolean(),
  information: z.boolean(),
  notifyMailboxOwner: z.boolean(),
});

export const orgSettingsFields = {
  defaultProfileId: z.string().min(1).nullable(),
  defaultIncomingMethod: incomingMethod,
  defaultOutgoingMethod: outgoingMethod,
  processEmailOnlyForApprovedUsers: z.boolean(),
  processEmailOnlyForApprovedQueues: z.boolean(),
  useCorrelation: z.boolean(),
  trackingToken,
  maxAttachmentSizeKb: z.number().int().min(0).max(131_072),
  maxMessageSizeKb: z.number().int().min(1).max(1_048_576),
  alerts,
};

/** PUT: the whole document. */
export const orgSettingsPut = z.strictObject(orgSettingsFields);
/** PATCH: any subset; nested objects merge. */
export const orgSettingsPatch = z.strictObject({
  ...orgSettingsFields,
  trackingToken: trackingToken.partial(),
  alerts: alerts.partial(),
}).partial();

export type OrgSettings = z.infer<typeof orgSettingsPut>;
export type OrgSettingsPatch = z.infer<typeof orgSettingsPatch>;

export const orgSettingsView = z.object({ ...orgSettingsFields, etag: z.string(), updatedAt: z.string().nullable() });

export const DEFAULT_ORG_SETTINGS: OrgSettings = {
  defaultProfileId: null,
  defaultIncomingMethod: "serverSideSync",
  defaultOutgoingMethod: "serverSideSync",
  processEmailOnlyForApprovedUsers: true,
  processEmailOnlyForApprovedQueues: true,
  useCorrelation: true,
  trackingToken: { enabled: true, prefix: "CRM:", baseNumber: 0, userDigits: 3, counterDigits: 3 },
  maxAttachmentSizeKb: 5120,
  maxMessageSizeKb: 32768,
  alerts: { error: true, warning: false, information: true, notifyMailboxOwner: false },
};

export function mergeOrgSettings(current: OrgSettings, patch: OrgSettingsPatch): OrgSettings {
  return {
    ...current,
    ...patch,
    trackingToken: { ...current.trackingToken, ...patch.trackingToken },
    alerts: { ...current.alerts, ...patch.alerts },
  };
}
