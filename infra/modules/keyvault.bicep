// A Key Vault with Azure RBAC authorization. main.bicep deploys two (decision 0022):
//   - the credentials vault (KEY_VAULT_URL): mailbox and profile passwords the app writes and deletes;
//   - the keys vault: the two API keys, which the app's identity may only read, one secret at a time.
// Keeping them apart is what lets the app write credentials without being able to rewrite the
// API keys: Key Vault roles cannot be limited to secret names that do not exist yet.
//
// Authorization is Azure RBAC, not access policies: who may read or write secrets is then an
// ordinary role assignment (auditable, scoped, the same model as Storage), and a Contributor on the
// resource group cannot grant themselves secret access by editing an access policy.

@description('Name of the vault (3-24 characters, globally unique).')
param name string

@description('Azure region.')
param location string

@description('Tags applied to the vault.')
param tags object = {}

@description('Days a deleted vault or secret can be recovered (7-90). Fixed once the vault exists.')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int = 90

@description('Purge protection: a deleted vault or secret cannot be purged before the retention period ends. Cannot be turned off once on.')
param enablePurgeProtection bool = true

@description('Resource id of the Log Analytics workspace that receives the vault\'s audit logs and metrics.')
param workspaceId string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    // See the header comment: access only through role assignments.
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    // The API only accepts `true` or no value here, never `false`.
    enablePurgeProtection: enablePurgeProtection ? true : null
    // Not a VM/disk-encryption/ARM-template secret store: keep those doors closed.
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    // Flex Consumption apps without VNet integration reach the vault over its public endpoint.
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

// Who read, wrote or deleted which secret, and every failed authorization (AuditEvent), plus the
// vault's metrics, kept in Log Analytics.
resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: vault
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

output name string = vault.name
output id string = vault.id
output uri string = vault.properties.vaultUri
