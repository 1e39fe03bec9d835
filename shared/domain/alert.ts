/**
 * @module Alerts: what an admin reads to know what is wrong and what to do (API.md "Alerts").
 */
import { z } from "zod";

export const alertLevel = z.enum(["error", "warning", "information"]);
export type AlertLevel = z.infer<typeof alertLevel>;

export interface Alert {
  id: string;
  level: AlertLevel;
  code: string;
  message: string;
  mailboxId: string | null;
  profileId: string | null;
  emailId: string | null;
  /**
   * Whose wall the alert is on: the profile's owner for a profile's alert; the mailbox's owner for
   * its first successful Test & Enable, and for its other alerts while notifyMailboxOwner is on.
   */
  owner: AlertOwner | null;
  at: string;
  count: number;
  lastAt: string;
}

export const ownerType = z.enum(["user", "queue"]);
export interface AlertOwner {
  type: z.infer<typeof ownerType>;
  id: string;
}

export const alertView = z.object({
  id: z.string(), level: alertLevel, code: z.string(), message: z.string(),
  mailboxId: z.string().nullable(), profileId: z.string().nullable(), emailId: z.string().nullable(),
  owner: z.object({ type: ownerType, id: z.string() }).nullable(),
  at: z.string(), count: z.number(), lastAt: z.string(),
});

export const alertListQuery = z.strictObject({
  mailboxId: z.string().min(1).optional(),
  profileId: z.string().min(1).optional(),
  /** A floor: `warning` lists warnings and errors. */
  level: alertLevel.optional().describe("the lowest level listed: information (all), warning (warnings and errors) or error"),
  /** An owner's alerts wall (see `owner`). */
  ownerType: ownerType.optional(),
  ownerId: z.string().min(1).optional(),
});
