// Key Vault: mailbox and profile credentials written by the app (KEY_VAULT_URL), and the two API
// keys (API_KEY, API_MASTER_KEY) that the app's settings reference.
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

@description('Value of the admin API key (API_KEY). Never output.')
@secure()
@minLength(16)
param apiKey string

@description('Value of the admin + approver API key (API_MASTER_KEY). Never output.')
@secure()
@minLength(16)
param apiMasterKey string

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

// Secret names are fixed so operators can find them (docs/deploy.md). Every deployment writes the
// values given as parameters: rotate a key by redeploying with a new value.
resource apiKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'api-key'
  properties: {
    value: apiKey
    contentType: 'text/plain'
  }
}

resource apiMasterKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'api-master-key'
  properties: {
    value: apiMasterKey
    contentType: 'text/plain'
  }
}

output name string = vault.name
output id string = vault.id
output uri string = vault.properties.vaultUri
// Secret URIs (locations, not values). Versioned on purpose: a new key value creates a new version,
// the app setting changes with it, and App Service re-reads the reference at once instead of
// within its 24-hour refresh window.
output apiKeySecretUri string = apiKeySecret.properties.secretUriWithVersion
output apiMasterKeySecretUri string = apiMasterKeySecret.properties.secretUriWithVersion
