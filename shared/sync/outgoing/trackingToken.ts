/**
 * @module Tracking tokens (API.md "Email activities"): prefix + base number + the sender's user
 * number padded to `userDigits` + a per-user counter padded to `counterDigits`, e.g. CRM:0001001.
 *
 * User numbers are assigned per mailbox owner (type, id), 1, 2, 3... in the order owners first
 * send with tokens on; a number is never reassigned, also not after the mailbox is deleted. They
 * live in the `coordination` table, partition `tracking`: row `seq` holds the next free number,
 * row `user|<owner>` the owner's number and last counter. A new owner takes `seq` and creates its
 * row in one entity-group transaction; a counter step is an ETag-conditional update. Two senders
 * racing for either lose with 409/412 and retry, so no number or counter value is handed out twice.
 * The rendered numbers keep their last `userDigits` / `counterDigits` digits: the counter wraps
 * (999 -> 000 -> 001), and with 3 user digits owner 1001 shares the digits of owner 1.
 */
import { RestError, type TableClient, type TransactionAction } from "@azure/data-tables";
import { encodeKey, storageError } from "../../storage/documentTable.js";
import type { OrgSettings } from "../../domain/orgSettings.js";

const PARTITION = "tracking";
const SEQ = "seq";
const MAX_TRIES = 10;

interface UserRow { userNumber: number; counter: number }
interface SeqRow { next: number }

export interface TokenOwner {
  type: string;
  id: string;
}

const userKey = (owner: TokenOwner): string => `user|${encodeKey(`${owner.type}:${owner.id}`)}`;
const lastDigits = (n: number, digits: number): string => String(n % 10 ** digits).padStart(digits, "0");

export function formatToken(t: OrgSettings["trackingToken"], userNumber: number, counter: number): string {
  return `${t.prefix}${t.baseNumber}${lastDigits(userNumber, t.userDigits)}${lastDigits(counter, t.counterDigits)}`;
}

export class TrackingNumbers {
  constructor(private readonly client: TableClient) {}

  /** Reserves the owner's next counter value (assigning a user number on first use). */
  async next(owner: TokenOwner): Promise<{ userNumber: number; counter: number }> {
    const rowKey = userKey(owner);
    for (let attempt = 0; attempt < MAX_TRIES; attempt++) {
      const user = await this.read<UserRow>(rowKey);
      if (user) {
        const counter = user.counter + 1;
        const ok = await this.submit([["update", { partitionKey: PARTITION, rowKey, userNumber: user.userNumber, counter }, "Replace", { etag: user.etag }]]);
        if (ok) return { userNumber: user.userNumber, counter };
        continue;
      }
      const seq = await this.read<SeqRow>(SEQ);
      const userNumber = seq?.next ?? 1;
      const seqRow = { partitionKey: PARTITION, rowKey: SEQ, next: userNumber + 1 };
      const ok = await this.submit([
        seq ? ["update", seqRow, "Replace", { etag: seq.etag }] : ["create", seqRow],
        ["create", { partitionKey: PARTITION, rowKey, userNumber, counter: 1 }],
      ]);
      if (ok) return { userNumber, counter: 1 };
    }
    throw storageError(new Error("tracking numbers: too many concurrent changes"));
  }

  private async read<T extends object>(rowKey: string): Promise<(T & { etag: string }) | undefined> {
    try {
      return await this.client.getEntity<T>(PARTITION, rowKey);
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return undefined;
      throw storageError(err);
    }
  }

  /** False when another sender changed the rows first (the caller re-reads and retries). */
  private async submit(actions: TransactionAction[]): Promise<boolean> {
    try {
      await this.client.submitTransaction(actions);
      return true;
    } catch (err) {
      if (err instanceof RestError && [404, 409, 412].includes(err.statusCode ?? 0)) {
        await new Promise((r) => setTimeout(r, Math.random() * 20));
        return false;
      }
      throw storageError(err);
    }
  }
}
