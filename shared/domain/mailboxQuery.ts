/**
 * @module The mailbox list filters (API.md "Mailboxes"): one field table, two forms. In a query
 * string every value is text, so booleans are `true|false`; in a JSON body (a bulk job's
 * `filter`) they are JSON booleans. Both parse to the same `MailboxFilter`.
 */
import { z } from "zod";
import { noLineBreaks } from "./common.js";
import { incomingMethod, outgoingMethod } from "./orgSettings.js";
import { approvalStatus, ownerType, syncStatus } from "./mailbox.js";

const queryBoolean = z.enum(["true", "false"], { message: "must be true or false" }).transform((v) => v === "true");

function filterFields<B extends z.ZodType<boolean, unknown>>(bool: B) {
  return {
    profileId: z.string().min(1).max(200).optional(),
    ownerType: ownerType.optional(),
    approval: approvalStatus.optional(),
    incomingStatus: syncStatus.optional(),
    outgoingStatus: syncStatus.optional(),
    active: bool.optional(),
    enabledForIncoming: bool.optional(),
    enabledForOutgoing: bool.optional(),
    incomingMethod: incomingMethod.optional(),
    outgoingMethod: outgoingMethod.optional(),
    /** Addresses are stored lower-cased, so the prefix is too. */
    emailAddressPrefix: z.string().trim().min(1).max(320).refine(noLineBreaks, "must not contain line breaks").transform((s) => s.toLowerCase()).optional(),
    /** true: either direction `failure` or postponed now; false: neither. */
    hasErrors: bool.optional(),
  };
}

/** The filters as query parameters of `GET /api/mailboxes`. */
export const mailboxListQuery = z.strictObject(filterFields(queryBoolean));
/** The same filters as a JSON object (`POST /api/mailboxes/bulk` `filter`). */
export const mailboxFilterBody = z.strictObject(filterFields(z.boolean()));

export type MailboxFilter = z.infer<typeof mailboxFilterBody>;
