/**
 * @module Alerts, newest first. RowKeys are inverted timestamps so a plain range read returns the
 * newest alerts first; repeats of the same alert fold into one row through a fold-key index.
 */
import { RestError, type TableClient, type TableEntity } from "@azure/data-tables";
import { randomUUID } from "node:crypto";
import type { Alert, AlertLevel, AlertOwner } from "../domain/alert.js";
import { encodeKey, onePage, rowKeyPrefixFilter, storageError } from "./documentTable.js";

const PK = "alert";
const ALERT_PREFIX = "a:";
const FOLD_PREFIX = "f:";
const MAX_TIME = 9_999_999_999_999;

interface AlertEntity extends Omit<Alert, "id" | "mailboxId" | "profileId" | "emailId" | "owner"> {
  partitionKey: string;
  rowKey: string;
  mailboxId?: string;
  profileId?: string;
  emailId?: string;
  /** Flat, so GET /api/alerts?ownerType=&ownerId= is a plain equality filter. */
  ownerType?: AlertOwner["type"];
  ownerId?: string;
}

export interface NewAlert {
  level: AlertLevel;
  code: string;
  message: string;
  mailboxId?: string | null;
  profileId?: string | null;
  emailId?: string | null;
  owner?: AlertOwner | null;
}

/**
 * Writers counting repeats of one alert at once take turns by ETag; each round one of them wins,
 * so this many rounds let that many concurrent writers through (a poll files PIPELINE_WINDOW
 * messages at once, and several instances may poll mailboxes of one profile).
 */
const FOLD_ATTEMPTS = 16;

const ownerFields = (owner: AlertOwner | null | undefined): Pick<AlertEntity, "ownerType" | "ownerId"> =>
  owner ? { ownerType: owner.type, ownerId: owner.id } : {};

const rowKeyFor = (at: Date, id: string): string => `${ALERT_PREFIX}${String(MAX_TIME - at.getTime()).padStart(13, "0")}_${id}`;

function toAlert(e: AlertEntity): Alert {
  return {
    id: e.rowKey.slice(ALERT_PREFIX.length),
    level: e.level, code: e.code, message: e.message,
    mailboxId: e.mailboxId ?? null, profileId: e.profileId ?? null, emailId: e.emailId ?? null,
    owner: e.ownerType && e.ownerId ? { type: e.ownerType, id: e.ownerId } : null,
    at: e.at, count: e.count, lastAt: e.lastAt,
  };
}

export class AlertStore {
  constructor(private readonly client: TableClient) {}

  /** Adds an alert, or when `foldKey` names an alert raised before, counts the repeat on it. */
  async add(alert: NewAlert, now: Date, foldKey?: string, options: { countRepeats?: boolean } = {}): Promise<Alert> {
    if (!foldKey) return this.create(alert, now);
    for (let attempt = 0; attempt < 5; attempt++) {
      const found = await this.fold(foldKey, alert, now, options.countRepeats ?? true);
      if ("alert" in found) return found.alert;
      // Another writer raised the same alert between our look and our write: count on it instead.
      const created = await this.create(alert, now, { foldKey, etag: found.foldEtag }).catch((err: unknown) => {
        if (err instanceof RestError && (err.statusCode === 409 || err.statusCode === 412)) return undefined;
        throw storageError(err);
      });
      if (created) return created;
    }
    throw storageError(new Error("the alert kept changing while it was raised"));
  }

  /**
   * A new alert. With a fold key, the fold row is written in the same transaction (created, or
   * replaced when it points to an alert retention removed), so two writers raising the same alert
   * at once cannot both start one: the loser's transaction fails with 409 or 412.
   */
  private async create(alert: NewAlert, now: Date, fold?: { foldKey: string; etag: string | undefined }): Promise<Alert> {
    const rowKey = rowKeyFor(now, randomUUID());
    const at = now.toISOString();
    const entity: AlertEntity = {
      partitionKey: PK, rowKey, level: alert.level, code: alert.code, message: alert.message, at, count: 1, lastAt: at,
      ...(alert.mailboxId ? { mailboxId: alert.mailboxId } : {}),
      ...(alert.profileId ? { profileId: alert.profileId } : {}),
      ...(alert.emailId ? { emailId: alert.emailId } : {}),
      ...ownerFields(alert.owner),
    };
    if (!fold) {
      try {
        await this.client.createEntity(entity);
      } catch (err) {
        throw storageError(err);
      }
      return toAlert(entity);
    }
    const foldRow = { partitionKey: PK, rowKey: FOLD_PREFIX + encodeKey(fold.foldKey), alertRowKey: rowKey };
    await this.client.submitTransaction([
      ["create", entity as unknown as TableEntity],
      fold.etag === undefined ? ["create", foldRow] : ["update", foldRow, "Replace", { etag: fold.etag }],
    ]);
    return toAlert(entity);
  }

  /** Counts a repeat on the alert `foldKey` names; else the fold row's ETag when it points nowhere. */
  private async fold(foldKey: string, alert: NewAlert, now: Date, countRepeats: boolean): Promise<{ alert: Alert } | { foldEtag: string | undefined }> {
    for (let attempt = 0; attempt < FOLD_ATTEMPTS; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt)); // spread racing writers
      let target: AlertEntity & { etag: string };
      let idx: { alertRowKey: string; etag: string };
      try {
        idx = await this.client.getEntity<{ alertRowKey: string }>(PK, FOLD_PREFIX + encodeKey(foldKey));
      } catch (err) {
        if (err instanceof RestError && err.statusCode === 404) return { foldEtag: undefined };
        throw storageError(err);
      }
      try {
        target = await this.client.getEntity<AlertEntity>(PK, idx.alertRowKey);
      } catch (err) {
        if (err instanceof RestError && err.statusCode === 404) return { foldEtag: idx.etag };
        throw storageError(err);
      }
      if (!countRepeats) return { alert: toAlert(target) };
      // The owner follows the setting as it is now: switched on later, the repeat reaches the wall.
      const next = { ...target, message: alert.message, count: target.count + 1, lastAt: now.toISOString(), ...ownerFields(alert.owner) };
      try {
        await this.client.updateEntity(next, "Replace", { etag: target.etag });
        return { alert: toAlert(next) };
      } catch (err) {
        if (!(err instanceof RestError && err.statusCode === 412)) throw storageError(err);
      }
    }
    throw storageError(new Error("the alert kept changing while it was counted"));
  }

  async list(opts: { filter?: string; top: number; continuationToken?: string | undefined }): Promise<{ items: Alert[]; continuationToken: string | null }> {
    const range = `PartitionKey eq '${PK}' and ${rowKeyPrefixFilter(ALERT_PREFIX)}`;
    const filter = opts.filter ? `${range} and (${opts.filter})` : range;
    const page = await onePage(this.client.listEntities<AlertEntity>({ queryOptions: { filter } }), opts.top, opts.continuationToken);
    return { items: page.rows.map(toAlert), continuationToken: page.continuationToken };
  }

  /** Deletes alerts whose last occurrence is older than `before` (retention). Returns how many. */
  async purgeOlderThan(before: Date): Promise<number> {
    let n = 0;
    const filter = `PartitionKey eq '${PK}' and lastAt lt '${before.toISOString()}'`;
    try {
      for await (const e of this.client.listEntities<AlertEntity>({ queryOptions: { filter } })) {
        await this.client.deleteEntity(PK, e.rowKey);
        n++;
      }
    } catch (err) {
      throw storageError(err);
    }
    return n;
  }
}
