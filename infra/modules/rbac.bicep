// Role assignments of the app's managed identity, each scoped to what the app touches and nothing
// more (decision 0022), never to the resource group or subscription:
//
//   Storage Blob Data Owner        host containers   Functions host: keys (azure-webjobs-secrets), timer and
//                                  + package         singleton locks (azure-webjobs-hosts), the deployment
//                                                    package. Owner, as the Functions docs require for
//                                                    identity-based AzureWebJobsStorage.
//   Storage Blob Data Contributor  app containers    raw messages (read, write, delete, blob leases)
//   Storage Queue Data Contributor each app queue    queue triggers, -poison queues, scheduler enqueues
//   Storage Table Data Contributor table service     state tables. Not per table: the app creates missing
//                                                    tables at start (ensureStorage), and Azure authorizes
//                                                    Create Table on the table service, not on a table.
//   Key Vault Secrets Officer      credentials vault the app writes and deletes mailbox credentials
//   Key Vault Secrets User         api-key and       the platform resolves API_KEY / API_MASTER_KEY
//                                  api-master-key    references; the app cannot rewrite either key
//   Monitoring Metrics Publisher   App Insights      Entra ID telemetry ingestion (local auth is off)
//
// Optionally an operator user or group gets Key Vault Secrets Officer on the keys vault to read and
// rotate the API keys (and nothing on the credentials vault). Built-in role definition ids are the
// same in every tenant.

@description('Principal (object) id of the app\'s user-assigned managed identity.')
param principalId string

@description('Name of the storage account.')
param storageAccountName string

@description('Blob containers of the Functions host and the deployment package (Storage Blob Data Owner).')
param hostContainerNames string[]

@description('Blob containers of the app (Storage Blob Data Contributor).')
param containerNames string[]

@description('Queues of the app, -poison queues included (Storage Queue Data Contributor).')
param queueNames string[]

@description('Name of the credentials vault (KEY_VAULT_URL).')
param credentialsVaultName string

@description('Name of the keys vault that holds api-key and api-master-key.')
param keysVaultName string

@description('Name of the Application Insights component.')
param appInsightsName string

@description('Optional: object id of a user or group that operates the app and may read/rotate the API keys in the keys vault. Empty: none.')
param operatorPrincipalId string = ''

@description('Kind of principal operatorPrincipalId is. Declared so ARM does not look it up in Entra ID, which fails for a group or user created moments before (replication delay).')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param operatorPrincipalType string = 'User'

var storageBlobDataOwnerRoleId = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var storageBlobDataContributorRoleId = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
var storageQueueDataContributorRoleId = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
var storageTableDataContributorRoleId = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
var keyVaultSecretsOfficerRoleId = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
var keyVaultSecretsUserRoleId = '4633458b-17de-408a-b874-0445c86b69e6'
var monitoringMetricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource hostContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = [
  for name in hostContainerNames: {
    parent: blobService
    name: name
  }
]

resource appContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = [
  for name in containerNames: {
    parent: blobService
    name: name
  }
]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' existing = [
  for name in queueNames: {
    parent: queueService
    name: name
  }
]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource credentialsVault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: credentialsVaultName
}

resource keysVault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keysVaultName
}

resource apiKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' existing = {
  parent: keysVault
  name: 'api-key'
}

resource apiMasterKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' existing = {
  parent: keysVault
  name: 'api-master-key'
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

// principalType is declared on every assignment so ARM does not look the principal up in Entra ID,
// which can fail for an identity created seconds earlier in the same deployment (replication delay).

resource hostBlobDataOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (name, i) in hostContainerNames: {
    name: guid(hostContainers[i].id, principalId, storageBlobDataOwnerRoleId)
    scope: hostContainers[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwnerRoleId)
      principalId: principalId
      principalType: 'ServicePrincipal'
      description: 'email-sync: Functions host container ${name}'
    }
  }
]

resource appBlobDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (name, i) in containerNames: {
    name: guid(appContainers[i].id, principalId, storageBlobDataContributorRoleId)
    scope: appContainers[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributorRoleId)
      principalId: principalId
      principalType: 'ServicePrincipal'
      description: 'email-sync: app container ${name}'
    }
  }
]

resource queueDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (name, i) in queueNames: {
    name: guid(queues[i].id, principalId, storageQueueDataContributorRoleId)
    scope: queues[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataContributorRoleId)
      principalId: principalId
      principalType: 'ServicePrincipal'
      description: 'email-sync: queue ${name}'
    }
  }
]

resource tableDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(tableService.id, principalId, storageTableDataContributorRoleId)
  scope: tableService
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributorRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'email-sync: state tables'
  }
}

resource credentialsSecretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(credentialsVault.id, principalId, keyVaultSecretsOfficerRoleId)
  scope: credentialsVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsOfficerRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'email-sync: mailbox and profile credentials'
  }
}

resource apiKeySecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(apiKeySecret.id, principalId, keyVaultSecretsUserRoleId)
  scope: apiKeySecret
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUserRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'email-sync: read the API_KEY reference'
  }
}

resource apiMasterKeySecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(apiMasterKeySecret.id, principalId, keyVaultSecretsUserRoleId)
  scope: apiMasterKeySecret
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUserRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'email-sync: read the API_MASTER_KEY reference'
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
  name: guid(keysVault.id, operatorPrincipalId, keyVaultSecretsOfficerRoleId)
  scope: keysVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsOfficerRoleId)
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
    description: 'email-sync: operators read and rotate API keys'
  }
}
