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
   * Read-modify-write of the document. With `ifMatch` the client's view must be current (412
   * otherwise); without it a concurrent writer is not the client's problem: the document is re-read
   * and `change` re-applied, as DocumentTable.update does. Returns the document before and after.
   */
  async update(
    change: (current: OrgSettings) => OrgSettings | Promise<OrgSettings>,
    ifMatch: string | undefined,
    now: Date,
  ): Promise<{ before: OrgSettings; saved: StoredSettings }> {
    for (let attempt = 0; ; attempt++) {
      const current = await this.get();
      if (ifMatch !== undefined && ifMatch !== "*" && ifMatch !== current.etag) throw preconditionFailed();
      const settings = await change(current.settings);
      const updatedAt = now.toISOString();
      try {
        const res = await this.client.updateEntity<SettingsEntity>(
          { partitionKey: PK, rowKey: RK, doc: JSON.stringify(settings), updatedAt },
          "Replace",
          { etag: current.etag },
        );
        return { before: current.settings, saved: { settings, etag: res.etag ?? (await this.get()).etag, updatedAt } };
      } catch (err) {
        if (!(err instanceof RestError && err.statusCode === 412)) throw storageError(err);
        if (ifMatch !== undefined || attempt >= 5) throw preconditionFailed();
      }
    }
  }
}
