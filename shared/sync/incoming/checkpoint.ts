/**
 * @module What a mailbox has already processed, so a poll fetches only unseen messages.
 *
 * Two layers: a marker row per (mailbox, UIDL), written right after the message's activity is
 * durable (the truth, used for exactly-once), and a checkpoint blob with the set of UIDLs that
 * have markers and were still on the server at the last poll (the shortcut: an empty poll of a
 * mailbox that keeps thousands of messages costs one blob read and no per-message calls).
 */
import { RestError, type TableClient } from "@azure/data-tables";
import type { RawStore } from "../../storage/rawStore.js";
import { encodeKey, storageError } from "../../storage/documentTable.js";

export type MarkerOutcome = "received" | "duplicate" | "skipped" | "quarantined" | "noMatch";

export interface Marker {
  outcome: MarkerOutcome;
  emailId: string | null;
  /** May be deleted from the server when the mailbox deletes after processing. */
  deletable: boolean;
}

interface MarkerEntity extends Marker {
  partitionKey: string;
  rowKey: string;
}

const partition = (mailboxId: string): string => `seen|${mailboxId}`;
const checkpointBlob = (mailboxId: string): string => `state/incoming/${mailboxId}.json`;

export class IncomingCheckpoint {
  constructor(private readonly table: TableClient, private readonly raw: RawStore) {}

  async loadSeen(mailboxId: string): Promise<Set<string>> {
    const doc = await this.raw.readJson<{ uids: string[] }>(checkpointBlob(mailboxId));
    return new Set(doc?.value.uids ?? []);
  }

  async saveSeen(mailboxId: string, uids: Iterable<string>): Promise<void> {
    await this.raw.writeJson(checkpointBlob(mailboxId), { uids: [...uids] });
  }

  async marker(mailboxId: string, uid: string): Promise<Marker | undefined> {
    try {
      const e = await this.table.getEntity<MarkerEntity>(partition(mailboxId), encodeKey(uid));
      return { outcome: e.outcome, emailId: e.emailId || null, deletable: e.deletable };
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return undefined;
      throw storageError(err);
    }
  }

  async mark(mailboxId: string, uid: string, marker: Marker): Promise<void> {
    try {
      await this.table.upsertEntity<MarkerEntity>({ partitionKey: partition(mailboxId), rowKey: encodeKey(uid), ...marker, emailId: marker.emailId ?? "" }, "Replace");
    } catch (err) {
      throw storageError(err);
    }
  }
}
