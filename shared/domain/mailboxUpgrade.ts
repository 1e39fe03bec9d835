/**
 * @module Migration on read of mailbox documents stored before each direction had its own state
 * (issue 11). Those kept one shared failure state at the top level: `incomingStatus`,
 * `outgoingStatus`, `enabledForIncoming`, `enabledForOutgoing`, and one `lastError`,
 * `transientFailureCount`, `postponedUntil`, `lastSyncAt`, `lastSuccessfulSyncAt` for both.
 * Which direction a shared error came from is not recorded, so it is copied to both: a
 * postponement still holds until it ends and the count keeps counting, as before the upgrade;
 * the next run of each direction then writes only its own state (decision 0018).
 * The document is rewritten in the new shape the next time anything updates it.
 */
import { NEW_DIRECTION, type DirectionState, type Mailbox } from "./mailbox.js";

type Legacy = Partial<Record<
  "incomingStatus" | "outgoingStatus" | "enabledForIncoming" | "enabledForOutgoing" | "lastError" | "transientFailureCount" |
  "postponedUntil" | "lastSyncAt" | "lastSuccessfulSyncAt",
  unknown
>>;
const LEGACY_FIELDS = [
  "incomingStatus", "outgoingStatus", "enabledForIncoming", "enabledForOutgoing", "lastError", "transientFailureCount",
  "postponedUntil", "lastSyncAt", "lastSuccessfulSyncAt",
] as const;

export function upgradeMailbox(stored: unknown): Mailbox {
  const doc = stored as Mailbox & Legacy;
  if (doc.incoming && doc.outgoing) return doc;
  const shared = {
    lastError: (doc.lastError ?? null) as DirectionState["lastError"],
    transientFailureCount: typeof doc.transientFailureCount === "number" ? doc.transientFailureCount : 0,
    postponedUntil: (doc.postponedUntil ?? null) as string | null,
    lastSyncAt: (doc.lastSyncAt ?? null) as string | null,
    lastSuccessfulSyncAt: (doc.lastSuccessfulSyncAt ?? null) as string | null,
  };
  const direction = (status: unknown, enabled: unknown): DirectionState => ({
    ...NEW_DIRECTION,
    ...shared,
    status: status === "success" || status === "failure" ? status : "notRun",
    enabled: enabled === true,
  });
  const upgraded: Record<string, unknown> = {
    ...doc,
    incoming: doc.incoming ?? direction(doc.incomingStatus, doc.enabledForIncoming),
    outgoing: doc.outgoing ?? direction(doc.outgoingStatus, doc.enabledForOutgoing),
  };
  for (const field of LEGACY_FIELDS) delete upgraded[field];
  return upgraded as unknown as Mailbox;
}
