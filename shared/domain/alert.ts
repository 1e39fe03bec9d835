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
  at: string;
  count: number;
  lastAt: string;
}

export const alertView = z.object({
  id: z.string(), level: alertLevel, code: z.string(), message: z.string(),
  mailboxId: z.string().nullable(), profileId: z.string().nullable(), emailId: z.string().nullable(),
  at: z.string(), count: z.number(), lastAt: z.string(),
});

export const alertListQuery = z.strictObject({
  mailboxId: z.string().min(1).optional(),
  profileId: z.string().min(1).optional(),
  level: alertLevel.optional(),
});
