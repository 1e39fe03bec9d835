/**
 * @module The mailbox list index: the scalar properties stored beside each mailbox's JSON
 * document (repositories.ts `indexFields`) and the OData filters over them. Both sides live here
 * so a filter can only name a property that is written. Every filter is one query of the
 * mailbox partition, filtered by Storage (docs/decisions/0016-mailbox-list-filters.md).
 */
import type { Mailbox } from "../domain/mailbox.js";
import type { MailboxFilter } from "../domain/mailboxQuery.js";
import { nextPrefix, odataString, type IndexValue } from "./documentTable.js";

/**
 * Bumped whenever the set of index properties changes: rows written with an older one are
 * rewritten at start-up (reindexMailboxes), since a filter cannot find a property a row lacks.
 * 1: profileId, ownerType, approval, incomingStatus, outgoingStatus (no `ix` property).
 * 2: all of the filters of issue 11.
 */
export const MAILBOX_INDEX_VERSION = 2;
export const INDEX_VERSION_PROPERTY = "ix";

export function mailboxIndexFields(m: Mailbox): Record<string, IndexValue> {
  return {
    [INDEX_VERSION_PROPERTY]: MAILBOX_INDEX_VERSION,
    profileId: m.profileId,
    ownerType: m.owner.type,
    approval: m.approval,
    incomingStatus: m.incoming.status,
    outgoingStatus: m.outgoing.status,
    active: m.active,
    enabledForIncoming: m.incoming.enabled,
    enabledForOutgoing: m.outgoing.enabled,
    incomingMethod: m.incomingMethod,
    outgoingMethod: m.outgoingMethod,
    emailAddress: m.emailAddress,
    // "" rather than null (a null property is not written): a missing property matches no
    // comparison at all, and `hasErrors=false` needs "not postponed" to compare as before now.
    incomingPostponedUntil: m.incoming.postponedUntil ?? "",
    outgoingPostponedUntil: m.outgoing.postponedUntil ?? "",
  };
}

const STRING_FILTERS = ["profileId", "ownerType", "approval", "incomingStatus", "outgoingStatus", "incomingMethod", "outgoingMethod"] as const;
const BOOLEAN_FILTERS = ["active", "enabledForIncoming", "enabledForOutgoing"] as const;

/**
 * The OData filter for `f` (AND of every filter set), or undefined when none is. `now` is an ISO
 * timestamp: postponements are ISO strings of one format (toISOString), so they compare as text.
 */
export function mailboxODataFilter(f: MailboxFilter, now: string): string | undefined {
  const parts: string[] = [];
  for (const k of STRING_FILTERS) {
    const v = f[k];
    if (v !== undefined) parts.push(`${k} eq '${odataString(v)}'`);
  }
  for (const k of BOOLEAN_FILTERS) {
    const v = f[k];
    if (v !== undefined) parts.push(`${k} eq ${v ? "true" : "false"}`);
  }
  if (f.emailAddressPrefix !== undefined) {
    const p = f.emailAddressPrefix;
    parts.push(`emailAddress ge '${odataString(p)}' and emailAddress lt '${odataString(nextPrefix(p))}'`);
  }
  const at = odataString(now);
  if (f.hasErrors === true) {
    parts.push(`(incomingStatus eq 'failure' or outgoingStatus eq 'failure' or incomingPostponedUntil gt '${at}' or outgoingPostponedUntil gt '${at}')`);
  } else if (f.hasErrors === false) {
    parts.push(`incomingStatus ne 'failure' and outgoingStatus ne 'failure' and incomingPostponedUntil le '${at}' and outgoingPostponedUntil le '${at}'`);
  }
  return parts.length > 0 ? parts.join(" and ") : undefined;
}
