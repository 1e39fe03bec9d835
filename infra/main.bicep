// email-sync: the whole system in one resource group.
//
//   user-assigned identity ──RBAC──▶ Storage (its tables, queues, containers; shared keys OFF)
//            │                 ├────▶ credentials Key Vault (mailbox passwords; write)
//            │                 ├────▶ keys Key Vault (api-key, api-master-key; read those two only)
//            │                 └────▶ Application Insights (local auth OFF) on Log Analytics
//            ▼
//   Function App (Flex Consumption FC1, Node.js 22) ── runs as that identity
//   + diagnostic settings (vaults, storage, app) to Log Analytics, alert rules, a workbook,
//     an optional CanNotDelete lock on the resource group
//
// Deploy:  az deployment group create -g <rg> -f infra/main.bicep -p infra/main.bicepparam
//     or:  azd up
// See docs/deploy.md. Outputs carry names, URLs and ids only, never a secret.

targetScope = 'resourceGroup'

// ---------------------------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------------------------

@description('Environment name (azd sets it from AZURE_ENV_NAME). Feeds the unique suffix of resource names and the azd-env-name tag.')
@minLength(1)
@maxLength(64)
param environmentName string = 'email-sync'

@description('Azure region of all resources. It must offer Flex Consumption (az functionapp list-flexconsumption-locations).')
param location string = resourceGroup().location

@description('Short lowercase prefix of resource names.')
@minLength(2)
@maxLength(10)
param namePrefix string = 'emailsync'

@description('Admin API key (API_KEY): at least 16 URL-safe characters (A-Z a-z 0-9 - . _ ~), e.g. `openssl rand -hex 32`. Stored in Key Vault, never output.')
@secure()
@minLength(16)
param apiKey string

@description('Admin + approver API key (API_MASTER_KEY): at least 16 URL-safe characters, different from apiKey (the deployment fails otherwise). Stored in Key Vault, never output.')
@secure()
@minLength(16)
param apiMasterKey string

@description('NCRONTAB (six fields) of the mailboxScheduler timer: how often due mailboxes and pending sends are enqueued.')
param schedulerSchedule string = '0 */1 * * * *'

@description('Level of the app\'s own log lines (LOG_LEVEL); the Functions host\'s logging is set in host.json.')
@allowed([
  'debug'
  'info'
  'warn'
  'error'
  'silent'
])
param logLevel string = 'info'

@description('Storage replication.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param storageSku string = 'Standard_LRS'

@description('Upper bound of Function App instances.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Memory per Function App instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Key Vault purge protection (recommended for production; cannot be turned off later).')
param keyVaultPurgeProtection bool = true

@description('Days a deleted vault or secret stays recoverable (7-90).')
@minValue(7)
@maxValue(90)
param keyVaultSoftDeleteRetentionInDays int = 90

@description('Days Log Analytics keeps logs and telemetry.')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 30

@description('Optional: object id of a user or group allowed to read and rotate the API keys (Key Vault Secrets Officer on the keys vault). Empty: nobody.')
param operatorPrincipalId string = ''

@description('Kind of principal operatorPrincipalId is (User, Group or ServicePrincipal). Must match: ARM does not look it up, so a group created moments before works.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param operatorPrincipalType string = 'User'

@description('Turn on App Service Authentication (Easy Auth) with Microsoft Entra ID; callers then hold the app roles Email.Admin / Email.Approver of the app registration.')
param enableEasyAuth bool = false

@description('Application (client) id of the Entra app registration of this API (required when enableEasyAuth). Created outside Bicep: docs/deploy.md.')
param easyAuthClientId string = ''

@description('Extra accepted token audiences (the client id and api://<client id> are always accepted).')
param easyAuthExtraAudiences string[] = []

@description('Storage log categories sent to Log Analytics for blobs, queues and tables (StorageRead, StorageWrite, StorageDelete); metrics always go. Each request is a row: reads and writes are most of the volume and cost.')
param storageLogCategories string[] = [
  'StorageDelete'
]

@description('Optional e-mail address that receives the alerts (poison queue, mailbox disabled, failure rate). Empty: alerts fire without a notification.')
param alertEmailAddress string = ''

@description('Failure rate alert: percentage of failed poll and send runs in 15 minutes that fires it.')
@minValue(1)
@maxValue(100)
param alertFailureRatePercent int = 20

@description('Put a CanNotDelete lock on the resource group: nothing in it can be deleted (azd down included) until the lock is removed.')
param enableResourceLock bool = false

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

// Stable per resource group + environment, so redeploying updates the same resources.
var token = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var prefix = toLower(namePrefix)
var tags = {
  'azd-env-name': environmentName
  application: 'email-sync'
}

var identityName = 'id-${prefix}-${token}'
var functionAppName = 'func-${prefix}-${token}'
var planName = 'plan-${prefix}-${token}'
// Storage accounts: 3-24 lowercase letters and digits.
var storageAccountName = take('st${replace(prefix, '-', '')}${token}', 24)
// Key Vaults: 3-24 characters. Credentials (KEY_VAULT_URL) and the API keys live apart (decision 0022).
var keyVaultName = take('kv-${prefix}-${token}', 24)
var keysVaultName = take('kvk-${prefix}-${token}', 24)
var workspaceName = 'log-${prefix}-${token}'
var appInsightsName = 'appi-${prefix}-${token}'
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}-${take(token, 7)}'

// Every table, queue and container the code uses: these lists mirror ALL_TABLES, ALL_QUEUES and
// ALL_CONTAINERS in shared/storage/names.ts (test/infra/consistency.test.ts keeps them equal).
// The app also creates them at start when missing; declaring them here means the resources exist,
// are visible to operators and are removed with the deployment.
var tableNames = [
  'settings'
  'profiles'
  'mailboxes'
  'contacts'
  'alerts'
  'jobs'
  'secrets'
  'emails'
  'coordination'
]
var queueNames = [
  'mailbox-incoming'
  'mailbox-incoming-poison'
  'mailbox-outgoing'
  'mailbox-outgoing-poison'
  'mailbox-test'
  'mailbox-test-poison'
]
var containerNames = [
  'raw-messages'
]
// Containers the Functions host uses with identity-based AzureWebJobsStorage (keys, timer and
// singleton locks); created here so that its role can be scoped to them.
var hostContainerNames = [
  'azure-webjobs-hosts'
  'azure-webjobs-secrets'
]

// ---------------------------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------------------------

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    name: identityName
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    workspaceName: workspaceName
    appInsightsName: appInsightsName
    location: location
    tags: tags
    retentionInDays: logRetentionInDays
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: storageAccountName
    location: location
    tags: tags
    skuName: storageSku
    tableNames: tableNames
    queueNames: queueNames
    containerNames: containerNames
    hostContainerNames: hostContainerNames
    deploymentContainerName: deploymentContainerName
    workspaceId: monitoring.outputs.workspaceId
    logCategories: storageLogCategories
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    name: keyVaultName
    location: location
    tags: tags
    enablePurgeProtection: keyVaultPurgeProtection
    softDeleteRetentionInDays: keyVaultSoftDeleteRetentionInDays
    workspaceId: monitoring.outputs.workspaceId
  }
}

module keysVault 'modules/keyvault.bicep' = {
  name: 'keysvault'
  params: {
    name: keysVaultName
    location: location
    tags: tags
    enablePurgeProtection: keyVaultPurgeProtection
    softDeleteRetentionInDays: keyVaultSoftDeleteRetentionInDays
    workspaceId: monitoring.outputs.workspaceId
  }
}

module apiKeys 'modules/apikeys.bicep' = {
  name: 'apikeys'
  params: {
    vaultName: keysVault.outputs.name
    apiKey: apiKey
    apiMasterKey: apiMasterKey
  }
}

module rbac 'modules/rbac.bicep' = {
  name: 'rbac'
  params: {
    principalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    hostContainerNames: union(hostContainerNames, [deploymentContainerName])
    containerNames: containerNames
    queueNames: queueNames
    credentialsVaultName: keyVault.outputs.name
    keysVaultName: keysVault.outputs.name
    appInsightsName: monitoring.outputs.appInsightsName
    operatorPrincipalId: operatorPrincipalId
    operatorPrincipalType: operatorPrincipalType
  }
  // The secrets must exist before their role assignments are scoped to them.
  dependsOn: [
    apiKeys
  ]
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    name: functionAppName
    planName: planName
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    blobServiceUri: storage.outputs.blobServiceUri
    queueServiceUri: storage.outputs.queueServiceUri
    tableServiceUri: storage.outputs.tableServiceUri
    deploymentContainerName: deploymentContainerName
    appInsightsName: monitoring.outputs.appInsightsName
    keyVaultUri: keyVault.outputs.uri
    apiKeySecretUri: apiKeys.outputs.apiKeySecretUri
    apiMasterKeySecretUri: apiKeys.outputs.apiMasterKeySecretUri
    schedulerSchedule: schedulerSchedule
    logLevel: logLevel
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    enableEasyAuth: enableEasyAuth
    easyAuthClientId: easyAuthClientId
    easyAuthExtraAudiences: easyAuthExtraAudiences
    workspaceId: monitoring.outputs.workspaceId
  }
  // The app starts (and resolves its Key Vault references) as soon as its settings are written:
  // the identity must already hold its roles by then.
  dependsOn: [
    rbac
  ]
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  params: {
    location: location
    tags: tags
    namePrefix: '${prefix}-${token}'
    appInsightsId: monitoring.outputs.appInsightsId
    alertEmailAddress: alertEmailAddress
    failureRatePercent: alertFailureRatePercent
  }
}

// Optional: nothing in the resource group can be deleted (by mistake, or by `azd down`) while it is
// on; data-plane work (blobs, secrets) is not affected.
resource lock 'Microsoft.Authorization/locks@2020-05-01' = if (enableResourceLock) {
  name: 'email-sync-cannot-delete'
  properties: {
    level: 'CanNotDelete'
    notes: 'email-sync: remove this lock (enableResourceLock=false, or in the portal) before deleting resources.'
  }
}

// ---------------------------------------------------------------------------------------------
// Outputs: names, URLs and ids only (azd copies them into .azure/<env>/.env).
// ---------------------------------------------------------------------------------------------

output AZURE_RESOURCE_GROUP string = resourceGroup().name
output FUNCTION_APP_NAME string = functionApp.outputs.name
output FUNCTION_APP_URL string = functionApp.outputs.url
output KEY_VAULT_NAME string = keyVault.outputs.name
output KEY_VAULT_URI string = keyVault.outputs.uri
output KEYS_VAULT_NAME string = keysVault.outputs.name
output STORAGE_ACCOUNT_NAME string = storage.outputs.name
output MANAGED_IDENTITY_NAME string = identity.outputs.name
output MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output APPLICATION_INSIGHTS_NAME string = monitoring.outputs.appInsightsName
output LOG_ANALYTICS_WORKSPACE_NAME string = monitoring.outputs.workspaceName
output WORKBOOK_NAME string = alerts.outputs.workbookName
