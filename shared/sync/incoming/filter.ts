/**
 * @module The mailbox's incoming filter (Dynamics' "track email" setting): which messages become
 * activities. Skipped ones are counted, never silently dropped from the count.
 */
import type { Mailbox } from "../../domain/mailbox.js";
import type { Services } from "../../runtime/services.js";

export async function passesFilter(services: Services, mailbox: Mailbox, fromAddress: string | null, correlated: boolean): Promise<boolean> {
  switch (mailbox.incomingFilter) {
    case "all":
      return true;
    case "none":
      return false;
    case "responsesToTracked":
      return correlated;
    case "fromKnownContacts":
      return fromAddress !== null && (await services.repos.contacts.idsByLookup(`address:${fromAddress}`)).length > 0;
    case "fromEmailEnabledRecords": {
      if (fromAddress === null) return false;
      if ((await services.repos.contacts.idsByLookup(`address:${fromAddress}`)).length > 0) return true;
      // Users and queues are email-enabled records too.
      return (await services.repos.mailboxes.idByUniqueKey(`address:${fromAddress}`)) !== undefined;
    }
  }
}
