// User-assigned managed identity of the Function App.
//
// Why user-assigned rather than system-assigned: the identity (and its role assignments) exists
// before the app does, so the app's very first start can already reach Storage, Key Vault and
// Application Insights, and Key Vault references resolve without a second deployment. It also
// survives re-creating the app, so role assignments are not orphaned.

@description('Name of the user-assigned managed identity.')
param name string

@description('Azure region.')
param location string

@description('Tags applied to the identity.')
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
