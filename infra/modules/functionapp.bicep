// Flex Consumption plan (FC1, Linux) + the Function App running Node.js 22, its app settings, and
// optional App Service Authentication ("Easy Auth").
//
// The app runs as the user-assigned identity only: Storage (AzureWebJobsStorage__*), Key Vault
// (KEY_VAULT_URL and the API key references) and Application Insights are all reached with Entra
// ID tokens of that identity. No app setting holds a key, a password or a storage connection string.

@description('Name of the Function App (becomes <name>.azurewebsites.net).')
param name string

@description('Name of the Flex Consumption plan.')
param planName string

@description('Azure region (must offer Flex Consumption: az functionapp list-flexconsumption-locations).')
param location string

@description('Tags applied to the plan and the app.')
param tags object = {}

@description('Resource id of the user-assigned managed identity.')
param identityId string

@description('Client id of the user-assigned managed identity.')
param identityClientId string

@description('Name of the storage account (AzureWebJobsStorage).')
param storageAccountName string

@description('Blob service URI of the storage account, without trailing slash.')
param blobServiceUri string

@description('Queue service URI of the storage account, without trailing slash.')
param queueServiceUri string

@description('Table service URI of the storage account, without trailing slash.')
param tableServiceUri string

@description('Blob container that receives the deployment package.')
param deploymentContainerName string

@description('Name of the Application Insights component.')
param appInsightsName string

@description('Key Vault URI (KEY_VAULT_URL).')
param keyVaultUri string

@description('Key Vault secret URI of API_KEY (a location, not the value).')
param apiKeySecretUri string

@description('Key Vault secret URI of API_MASTER_KEY (a location, not the value).')
param apiMasterKeySecretUri string

@description('NCRONTAB schedule of the mailboxScheduler timer (SCHEDULER_SCHEDULE).')
param schedulerSchedule string

@description('Level of the app\'s own log lines (LOG_LEVEL).')
@allowed([
  'debug'
  'info'
  'warn'
  'error'
  'silent'
])
param logLevel string = 'info'

@description('Upper bound of instances the app may scale out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Memory of each instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Turn on App Service Authentication with Microsoft Entra ID (app roles Email.Admin, Email.Approver).')
param enableEasyAuth bool = false

@description('Application (client) id of the Entra app registration that represents this API. Required when enableEasyAuth.')
param easyAuthClientId string = ''

@description('Tenant of that app registration.')
param easyAuthTenantId string = subscription().tenantId

@description('Token audiences accepted besides the client id and api://<client id>.')
param easyAuthExtraAudiences string[] = []

@description('Resource id of the Log Analytics workspace that receives the app\'s platform logs and metrics.')
param workspaceId string

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    // Linux.
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  // azd finds the app to deploy service `api` of azure.yaml by this tag.
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references in app settings are resolved with the user-assigned identity (the
    // platform would otherwise try a system-assigned identity, which this app does not have).
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          // The deployment package is pulled from this container with the managed identity;
          // there is no SAS URL and no WEBSITE_RUN_FROM_PACKAGE on Flex Consumption.
          type: 'blobContainer'
          value: '${blobServiceUri}/${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      // On Flex Consumption the language and version live here, not in FUNCTIONS_WORKER_RUNTIME /
      // WEBSITE_NODE_DEFAULT_VERSION app settings (which the plan rejects).
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }
}

// Publishing with basic (user name + password) credentials is off: deployments (azd, Core Tools,
// CI) authenticate with Entra ID and are authorized by RBAC on the app.
resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

// Every app setting of the app, in one place (test/infra/consistency.test.ts compares these names
// with shared/config/appSettings.ts). Writing this resource replaces the whole settings list.
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: {
    // Identity-based host and app storage: no connection string, no account key
    // (the account has shared-key access disabled).
    AzureWebJobsStorage__accountName: storageAccountName
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    // Explicit endpoints so sovereign clouds (other DNS suffixes) work too.
    AzureWebJobsStorage__blobServiceUri: blobServiceUri
    AzureWebJobsStorage__queueServiceUri: queueServiceUri
    AzureWebJobsStorage__tableServiceUri: tableServiceUri

    // Mailbox and profile credentials go to Key Vault (so LOCAL_SECRETS_KEY is not needed).
    KEY_VAULT_URL: keyVaultUri

    // The app checks x-functions-key / ?code= itself (API.md "Roles"). The values stay in Key
    // Vault; the platform resolves these references with the managed identity at start-up.
    API_KEY: '@Microsoft.KeyVault(SecretUri=${apiKeySecretUri})'
    API_MASTER_KEY: '@Microsoft.KeyVault(SecretUri=${apiMasterKeySecretUri})'

    SCHEDULER_SCHEDULE: schedulerSchedule
    LOG_LEVEL: logLevel

    // Telemetry with Entra ID (local auth is off on the component): the connection string only
    // says where to send, the identity proves who sends.
    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=${identityClientId}'
  }
}

// Easy Auth, written on every deployment so that it can be turned on AND off again: with
// enableEasyAuth false the platform is disabled and no identity provider is configured (a resource
// deployed only when the flag is true would leave the last settings in place when it goes false).
// When on, callers that present a valid Entra ID bearer token get their app roles (Email.Admin,
// Email.Approver) passed to the app in x-ms-client-principal. Anonymous requests are still let
// through (AllowAnonymous) because the app decides: GET /api/health needs nothing and key-based
// callers (x-functions-key) keep working. Only bearer tokens are validated (no login pages, no token
// store), so no client secret is needed. The app registration itself is created outside Bicep:
// docs/deploy.md, "Easy Auth".
resource authSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: enableEasyAuth
    }
    globalValidation: {
      requireAuthentication: false
      unauthenticatedClientAction: 'AllowAnonymous'
    }
    httpSettings: {
      requireHttps: true
    }
    login: {
      tokenStore: {
        enabled: false
      }
    }
    identityProviders: enableEasyAuth
      ? {
          azureActiveDirectory: {
            enabled: true
            registration: {
              clientId: easyAuthClientId
              openIdIssuer: '${environment().authentication.loginEndpoint}${easyAuthTenantId}/v2.0'
            }
            validation: {
              // v2 access tokens carry the client id as audience, v1 tokens the Application ID URI.
              allowedAudiences: concat([easyAuthClientId, 'api://${easyAuthClientId}'], easyAuthExtraAudiences)
            }
          }
        }
      : {}
  }
  // Both sites/config writes restart the app's configuration; run one after the other instead of
  // letting ARM send them in parallel (they can conflict with 409s).
  dependsOn: [
    appSettings
  ]
}

// The Functions host's own log stream (FunctionAppLogs) and the app's platform metrics, kept in Log
// Analytics next to Application Insights.
resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: site
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

output name string = site.name
output id string = site.id
output url string = 'https://${site.properties.defaultHostName}'
