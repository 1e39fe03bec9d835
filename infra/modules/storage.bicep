// Storage account used both by the Functions host (AzureWebJobsStorage: timer leases, host keys,
// queue-trigger poison handling, the deployment package) and by the app itself (state in tables,
// work in queues, raw .eml bytes in blobs).
//
// Shared-key access is OFF. Account keys and SAS tokens signed with them are bearer credentials
// that grant full control of all data, cannot be scoped to one principal and do not show up as a
// principal in the logs. With them disabled every data-plane request must carry an Entra ID token,
// so access is governed by the role assignments in rbac.bicep and nothing else.
// The tables, queues and containers below are created through the control plane (ARM), which
// does not need a key either.

@description('Name of the storage account (3-24 lowercase letters and digits, globally unique).')
param name string

@description('Azure region.')
param location string

@description('Tags applied to the account.')
param tags object = {}

@description('Replication. ZRS keeps data through the loss of one availability zone.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param skuName string = 'Standard_LRS'

@description('Tables the app uses (shared/storage/names.ts ALL_TABLES).')
param tableNames string[]

@description('Queues the app uses, including the -poison ones (shared/storage/names.ts ALL_QUEUES).')
param queueNames string[]

@description('Blob containers the app uses (shared/storage/names.ts ALL_CONTAINERS).')
param containerNames string[]

@description('Blob container that holds the Flex Consumption deployment package.')
param deploymentContainerName string

@description('Blob containers of the Functions host (keys, timer and singleton locks), created here so their role assignments can be scoped to them.')
param hostContainerNames string[]

@description('Resource id of the Log Analytics workspace that receives the account\'s logs and metrics.')
param workspaceId string

@description('Storage log categories sent to Log Analytics for blobs, queues and tables (StorageRead, StorageWrite, StorageDelete). Every request is one row: reads and writes are the bulk of the volume (and of the cost).')
param logCategories string[] = [
  'StorageDelete'
]

@description('Days a deleted blob or container can be restored.')
@minValue(1)
@maxValue(365)
param blobSoftDeleteDays int = 7

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    // See the header comment: Entra ID only, no account keys, no key-signed SAS.
    allowSharedKeyAccess: false
    // The portal and tools default to Entra ID too, instead of trying keys first.
    defaultToOAuthAuthentication: true
    // Raw messages are personal data: no container may ever be made anonymously readable.
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    // Flex Consumption apps without VNet integration reach Storage over its public endpoint.
    // To lock the account to a VNet, add VNet integration + private endpoints (see docs/deploy.md).
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    // A mistaken delete of a raw message (or of the whole container) can be undone for a while.
    deleteRetentionPolicy: {
      enabled: true
      days: blobSoftDeleteDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: blobSoftDeleteDays
    }
  }
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for containerName in union(containerNames, hostContainerNames, [deploymentContainerName]): {
    parent: blobService
    name: containerName
    properties: {
      publicAccess: 'None'
    }
  }
]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [
  for queueName in queueNames: {
    parent: queueService
    name: queueName
  }
]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for tableName in tableNames: {
    parent: tableService
    name: tableName
  }
]

// Metrics of the account (transactions, capacity) and, per service, the log categories asked for.
resource accountDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: storage
  properties: {
    workspaceId: workspaceId
    metrics: [
      {
        category: 'Transaction'
        enabled: true
      }
    ]
  }
}

var serviceLogs = [
  for category in logCategories: {
    category: category
    enabled: true
  }
]
var serviceMetrics = [
  {
    category: 'Transaction'
    enabled: true
  }
]

resource blobDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: blobService
  properties: {
    workspaceId: workspaceId
    logs: serviceLogs
    metrics: serviceMetrics
  }
}

resource queueDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: queueService
  properties: {
    workspaceId: workspaceId
    logs: serviceLogs
    metrics: serviceMetrics
  }
}

resource tableDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: tableService
  properties: {
    workspaceId: workspaceId
    logs: serviceLogs
    metrics: serviceMetrics
  }
}

output name string = storage.name
output id string = storage.id
// Service endpoints without the trailing slash, the form the app and the Functions host expect.
output blobServiceUri string = 'https://${storage.name}.blob.${environment().suffixes.storage}'
output queueServiceUri string = 'https://${storage.name}.queue.${environment().suffixes.storage}'
output tableServiceUri string = 'https://${storage.name}.table.${environment().suffixes.storage}'
