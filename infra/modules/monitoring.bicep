// Log Analytics workspace + workspace-based Application Insights.
//
// Local (instrumentation-key) authentication is disabled on Application Insights: the connection
// string alone cannot be used to send telemetry, only an Entra ID token of a principal holding
// "Monitoring Metrics Publisher" on the component can (the app's managed identity, see rbac.bicep,
// and APPLICATIONINSIGHTS_AUTHENTICATION_STRING in functionapp.bicep). So the connection string is
// not a secret, and nobody can spoof telemetry into the component with it.

@description('Name of the Log Analytics workspace.')
param workspaceName string

@description('Name of the Application Insights component.')
param appInsightsName string

@description('Azure region.')
param location string

@description('Tags applied to both resources.')
param tags object = {}

@description('Days Log Analytics keeps logs and telemetry.')
@minValue(30)
@maxValue(730)
param retentionInDays int = 30

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: workspaceName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      // Workspace shared keys are not needed: Application Insights ingests through its own
      // (Entra ID) pipeline, and people query with their own identity.
      disableLocalAuth: true
    }
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    IngestionMode: 'LogAnalytics'
    // Entra ID-only ingestion (see the header comment).
    DisableLocalAuth: true
  }
}

// Names and ids only: the function app module reads the connection string itself through an
// `existing` reference, so it never travels through deployment outputs.
output workspaceName string = workspace.name
output workspaceId string = workspace.id
output appInsightsName string = appInsights.name
output appInsightsId string = appInsights.id
