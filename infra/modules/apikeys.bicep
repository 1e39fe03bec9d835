// The two API keys (API_KEY, API_MASTER_KEY) as secrets of the keys vault (keyvault.bicep). Every
// deployment writes the values given as parameters: rotate a key by deploying with a new value
// (docs/deploy.md "Rotating the API keys").
//
// The keys are checked here, before anything is written, because the app would refuse them at start
// (shared/config/appSettings.ts): they must differ (one key for both roles makes every admin an
// approver) and be URL-safe, RFC 3986 "unreserved" characters only, because callers may send them
// as `?code=KEY` (base64 `+`, `/` and `=` break that form). The messages never contain a key.

@description('Name of the keys vault.')
param vaultName string

@description('Value of the admin API key (API_KEY). Never output.')
@secure()
@minLength(16)
param apiKey string

@description('Value of the admin + approver API key (API_MASTER_KEY). Never output.')
@secure()
@minLength(16)
param apiMasterKey string

// How many characters of `key` fall outside A-Z a-z 0-9 - . _ ~ (RFC 3986 section 2.3).
func unsafeCharacters(key string) int =>
  length(filter(range(0, length(key)), i => !contains('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~', substring(key, i, 1))))

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: vaultName
}

// Secret names are fixed so operators can find them (docs/deploy.md).
resource apiKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'api-key'
  properties: {
    value: unsafeCharacters(apiKey) > 0 ? fail('apiKey (EMAIL_SYNC_API_KEY) must be URL-safe: letters, digits and - . _ ~ only. Generate one with: openssl rand -hex 32') : apiKey
    contentType: 'text/plain'
  }
}

resource apiMasterKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'api-master-key'
  properties: {
    value: apiMasterKey == apiKey ? fail('apiMasterKey (EMAIL_SYNC_API_MASTER_KEY) must differ from apiKey: one key for both would make every admin an approver.') : unsafeCharacters(apiMasterKey) > 0 ? fail('apiMasterKey (EMAIL_SYNC_API_MASTER_KEY) must be URL-safe: letters, digits and - . _ ~ only. Generate one with: openssl rand -hex 32') : apiMasterKey
    contentType: 'text/plain'
  }
}

// Secret URIs (locations, not values). Versioned on purpose: a new key value creates a new version,
// the app setting changes with it, and App Service re-reads the reference at once instead of
// within its 24-hour refresh window.
output apiKeySecretUri string = apiKeySecret.properties.secretUriWithVersion
output apiMasterKeySecretUri string = apiMasterKeySecret.properties.secretUriWithVersion
