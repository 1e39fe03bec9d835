/**
 * @module The org settings document: one entity, created with the defaults on first read so it
 * always has an ETag to honour.
 */
import { RestError, type TableClient } from "@azure/data-tables";
import { DEFAULT_ORG_SETTINGS, type OrgSettings } from "../domain/orgSettings.js";
import { preconditionFailed } from "../errors.js";
import { storageError } from "./documentTable.js";

const PK = "settings";
const RK = "org";

export interface StoredSettings {
  settings: OrgSettings;
  etag: string;
  updatedAt: string | null;
}

interface SettingsEntity {
  partitionKey: string;
  rowKey: string;
  doc: string;
  updatedAt?: string;
}

export class SettingsStore {
  constructor(private readonly client: TableClient) {}

  async get(): Promise<StoredSettings> {
    for (;;) {
      try {
        const e = await this.client.getEntity<SettingsEntity>(PK, RK);
        // Stored documents may predate a new field: defaults fill what is missing.
        const settings = { ...DEFAULT_ORG_SETTINGS, ...(JSON.parse(e.doc) as Partial<OrgSettings>) };
        return { settings, etag: e.etag, updatedAt: e.updatedAt ?? null };
      } catch (err) {
        if (!(err instanceof RestError && err.statusCode === 404)) throw storageError(err);
      }
      try {
        await this.client.createEntity<SettingsEntity>({ partitionKey: PK, rowKey: RK, doc: JSON.stringify(DEFAULT_ORG_SETTINGS) });
      } catch (err) {
        if (!(err instanceof RestError && err.statusCode === 409)) throw storageError(err);
      }
    }
  }

  /**
   * Replaces the document `current` (as the caller read it): with `ifMatch` only if nobody changed
   * it since the client read it, else only if nobody changed it since `current` was read.
   */
  async put(settings: OrgSettings, current: StoredSettings, ifMatch: string | undefined, now: Date): Promise<StoredSettings> {
    const updatedAt = now.toISOString();
    try {
      const res = await this.client.updateEntity<SettingsEntity>(
        { partitionKey: PK, rowKey: RK, doc: JSON.stringify(settings), updatedAt },
        "Replace",
        { etag: ifMatch ?? current.etag },
      );
      return { settings, etag: res.etag ?? (await this.get()).etag, updatedAt };
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 412) throw preconditionFailed();
      throw storageError(err);
    }
  }
}
