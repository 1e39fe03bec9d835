/**
 * @module The version a start-up migration has finished, kept in a marker row of the table it
 * migrates (partition "meta", outside every document partition, so no query of documents meets
 * it). A start reads it once; a migration that finished costs nothing more.
 */
import { RestError, type TableClient } from "@azure/data-tables";

export interface MigrationMarker {
  /** The version done (0 when the migration never finished). */
  done(): Promise<number>;
  /** Records `version` as done. */
  finish(version: number): Promise<void>;
}

export function migrationMarker(table: TableClient, name: string): MigrationMarker {
  const row = { partitionKey: "meta", rowKey: name } as const;
  return {
    async done() {
      try {
        const e = await table.getEntity<{ version: number }>(row.partitionKey, row.rowKey);
        return typeof e.version === "number" ? e.version : 0;
      } catch (err) {
        if (err instanceof RestError && err.statusCode === 404) return 0;
        throw err;
      }
    },
    async finish(version) {
      await table.upsertEntity({ ...row, version }, "Replace");
    },
  };
}
