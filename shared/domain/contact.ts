/**
 * @module Contacts, accounts and leads: the email-enabled records the incoming filters match against.
 */
import { z } from "zod";
import { emailAddress } from "./common.js";

export const contactType = z.enum(["contact", "account", "lead"]);

export const contactCreate = z.strictObject({
  type: contactType,
  name: z.string().trim().min(1).max(200),
  emailAddress,
});
export type ContactCreate = z.infer<typeof contactCreate>;

export interface Contact extends ContactCreate {
  id: string;
  createdAt: string;
  updatedAt: string;
}

export const contactView = z.object({
  id: z.string(), etag: z.string(), createdAt: z.string(), updatedAt: z.string(),
  type: contactType, name: z.string(), emailAddress: z.string(),
});
