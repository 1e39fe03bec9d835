/**
 * @module Picks the secret store from settings (DESIGN.md decision 6): Key Vault when
 * KEY_VAULT_URL is set, otherwise the embedded AES-256-GCM table under LOCAL_SECRETS_KEY.
 */
import { DefaultAzureCredential, type TokenCredential } from "@azure/identity";
import { SecretClient, type SecretClientOptions } from "@azure/keyvault-secrets";
import type { AppSettings } from "../config/appSettings.js";
import { AppError } from "../errors.js";
import type { StorageClients } from "../storage/clients.js";
import { TABLES } from "../storage/names.js";
import { EmbeddedSecretStore, type EmbeddedSecretStoreOptions } from "./embeddedStore.js";
import { secretKeyFromBase64 } from "./envelope.js";
import { KeyVaultSecretStore, type KeyVaultSecretStoreOptions } from "./keyVaultStore.js";
import type { SecretStore } from "./secretStore.js";

export type { SecretStore, SecretStoreKind } from "./secretStore.js";
export { assertValidSecretName, isValidSecretName, secretNameFor } from "./secretName.js";
export { KeyVaultSecretStore, type KeyVaultSecretStoreOptions } from "./keyVaultStore.js";
export { EmbeddedSecretStore, type EmbeddedSecretStoreOptions } from "./embeddedStore.js";
export { keyIdOf, secretKeyFromBase64, type SecretKey } from "./envelope.js";

export interface CreateSecretStoreOptions {
  /** Key Vault only. Default: DefaultAzureCredential (the app's managed identity in Azure). */
  credential?: TokenCredential;
  /** Key Vault only: SecretClient options (retryOptions, tlsOptions, disableChallengeResourceVerification...). */
  keyVaultClientOptions?: SecretClientOptions;
  keyVault?: KeyVaultSecretStoreOptions;
  embedded?: Omit<EmbeddedSecretStoreOptions, "key">;
}

export function createSecretStore(settings: AppSettings, clients: StorageClients, options: CreateSecretStoreOptions = {}): SecretStore {
  if (settings.KEY_VAULT_URL) {
    // One identity for the app: the user-assigned one Storage uses, when there is one.
    const clientId = settings.AzureWebJobsStorage__clientId;
    const credential = options.credential ?? new DefaultAzureCredential(clientId ? { managedIdentityClientId: clientId } : {});
    return new KeyVaultSecretStore(new SecretClient(settings.KEY_VAULT_URL, credential, options.keyVaultClientOptions), options.keyVault);
  }
  if (!settings.LOCAL_SECRETS_KEY) {
    throw new AppError("CONFIGURATION_INVALID", "Set KEY_VAULT_URL, or LOCAL_SECRETS_KEY for the embedded secret store.", {
      details: [{ path: "LOCAL_SECRETS_KEY", message: "is required when KEY_VAULT_URL is not set" }],
    });
  }
  return new EmbeddedSecretStore(clients.table(TABLES.secrets), { ...options.embedded, key: secretKeyFromBase64(settings.LOCAL_SECRETS_KEY) });
}
