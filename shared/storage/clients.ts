/**
 * @module Storage service clients built from settings: a connection string (Azurite, local) or
 * identity-based service URIs with DefaultAzureCredential (Azure; shared keys are disabled there).
 */
import { TableClient, TableServiceClient } from "@azure/data-tables";
import { BlobServiceClient } from "@azure/storage-blob";
import { QueueServiceClient } from "@azure/storage-queue";
import { DefaultAzureCredential, type TokenCredential } from "@azure/identity";
import type { StorageTarget } from "../config/appSettings.js";
import { withLeanTransactions } from "./tableBatch.js";

export interface StorageClients {
  tables: TableServiceClient;
  table(name: string): TableClient;
  blobs: BlobServiceClient;
  queues: QueueServiceClient;
}

/** Azurite speaks plain HTTP; the table SDK refuses that unless told. */
const insecureIfHttp = (cs: string): { allowInsecureConnection: boolean } => ({
  allowInsecureConnection: /TableEndpoint=http:|UseDevelopmentStorage=true/i.test(cs),
});

export function createStorageClients(target: StorageTarget, credential?: TokenCredential): StorageClients {
  if (target.kind === "connectionString") {
    const cs = target.connectionString;
    return {
      tables: TableServiceClient.fromConnectionString(cs, insecureIfHttp(cs)),
      table: (name) => withLeanTransactions(TableClient.fromConnectionString(cs, name, insecureIfHttp(cs))),
      blobs: BlobServiceClient.fromConnectionString(cs),
      queues: QueueServiceClient.fromConnectionString(cs),
    };
  }
  const cred = credential ?? new DefaultAzureCredential(target.clientId ? { managedIdentityClientId: target.clientId } : {});
  return {
    tables: new TableServiceClient(target.tableUri, cred),
    table: (name) => withLeanTransactions(new TableClient(target.tableUri, name, cred)),
    blobs: new BlobServiceClient(target.blobUri, cred),
    queues: new QueueServiceClient(target.queueUri, cred),
  };
}
