// Role assignments of the app's managed identity: the five data-plane roles it needs, each scoped
// to the one resource it is for (never the resource group or subscription).
//
//   Storage Blob Data Owner        storage   host: keys, timer leases, deployment package;
//                                            app: raw messages, blob leases. Owner (not Contributor)
//                                            because the Functions host manages container-level
//                                            state with identity-based AzureWebJobsStorage.
//   Storage Queue Data Contributor storage   queue triggers (incl. poison queues), scheduler enqueues
//   Storage Table Data Contributor storage   all state: settings, profiles, mailboxes, emails, ...
//   Key Vault Secrets Officer      vault     the app writes and deletes mailbox credentials, and the
//                                            platform reads API_KEY / API_MASTER_KEY references
//   Monitoring Metrics Publisher   App Insights  Entra ID telemetry ingestion (local auth is off)
//
// Built-in role definition ids are the same in every tenant.

@description('Principal (object) id of the app\'s user-assigned managed identity.')
param principalId string

@description('Name of the storage account.')
param storageAccountName string

@description('Name of the Key Vault.')
param keyVaultName string

@description('Name of the Application Insights component.')
param appInsightsName string

@description('Optional: object id of a user or group that operates the app and may read/rotate the API keys in Key Vault. Empty: none.')
param operatorPrincipalId string = ''

@description('Kind of principal operatorPrincipalId is.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param operatorPrincipalType string = 'User'

var storageBlobDataOwnerRoleId = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var storageQueueDataContributorRoleId = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
var storageTableDataContributorRoleId = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
var keyVaultSecretsOfficerRoleId = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
var monitoringMetricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource blobDataOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, storageBlobDataOwnerRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwnerRoleId)
    principalId: principalId
    // Declared so ARM does not look the principal up in Entra ID, which can fail for an identity
    // created seconds earlier in the same deployment (replication delay).
    principalType: 'ServicePrincipal'
    description: 'email-sync: Functions host and raw message blobs'
  }
}

resource queueDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, storageQueueDataContributorRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataContributorRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'email-sync: mailbox queues and queue triggers'
  }
}

resource tableDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, storageTableDataContributorRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributorRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'email-sync: state tables'
  }
}

resource secretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, principalId, keyVaultSecretsOfficerRoleId)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsOfficerRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'email-sync: mailbox credentials and API key references'
  }
}

resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, principalId, monitoringMetricsPublisherRoleId)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisherRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'email-sync: Entra ID telemetry ingestion'
  }
}

// Optional: lets the operating team read and rotate the API keys. With RBAC authorization even a
// subscription Owner cannot read secret values without a data-plane role like this one.
resource operatorSecretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(vault.id, operatorPrincipalId, keyVaultSecretsOfficerRoleId)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsOfficerRoleId)
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
    description: 'email-sync: operators read and rotate API keys'
  }
}
