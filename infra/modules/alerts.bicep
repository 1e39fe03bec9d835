// What tells an operator that something needs a look (docs/telemetry.md, "Alerts"): three log alert
// rules over the app's custom metrics in Application Insights, an optional e-mail action group, and
// the operations workbook (infra/workbooks/operations.workbook.json).
//
//   poison queue not empty   a message failed maxDequeueCount (5) times: a bug or a bad message
//   mailbox disabled         a mailbox direction was disabled (permanent error, or 10 transient ones)
//   failure rate             more than failureRatePercent of poll and send runs failed in 15 minutes
//
// Metric names and dimensions are shared/telemetry/metrics.ts's (a test keeps the two in step).

@description('Azure region of the rules and the workbook.')
param location string

@description('Tags applied to every resource.')
param tags object = {}

@description('Resource id of the Application Insights component the rules query.')
param appInsightsId string

@description('Optional e-mail address that receives the alerts. Empty: the alerts fire (portal, Azure Monitor) without a notification.')
param alertEmailAddress string = ''

@description('Failure rate alert: percentage of failed poll and send runs over 15 minutes that fires it.')
@minValue(1)
@maxValue(100)
param failureRatePercent int = 20

@description('Failure rate alert: fewest runs in the 15 minutes for the rate to count (a single failed run of a quiet org is not a rate).')
@minValue(1)
param failureRateMinimumRuns int = 10

@description('Name prefix of the rules, the action group and the workbook.')
param namePrefix string

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmailAddress)) {
  name: 'ag-${namePrefix}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'emailsync'
    enabled: true
    emailReceivers: [
      {
        name: 'operators'
        emailAddress: alertEmailAddress
        useCommonAlertSchema: true
      }
    ]
  }
}

var actions = empty(alertEmailAddress)
  ? {}
  : {
      actionGroups: [
        actionGroup.id
      ]
    }

var rules = [
  {
    name: 'poison-queue-not-empty'
    severity: 1
    description: 'A -poison queue holds messages: a mailbox run failed 5 times in a row (host.json maxDequeueCount). Look at the workbook and the exceptions in Application Insights, fix, then move or clear the messages.'
    query: 'customMetrics\n| where name == "emailsync.queue.depth" and tostring(customDimensions["queue.poison"]) == "true"\n| summarize depth = max(value) by queue = tostring(customDimensions.queue)\n| where depth > 0'
  }
  {
    name: 'mailbox-disabled'
    severity: 2
    description: 'A mailbox direction was disabled (a permanent error, or 10 transient ones in a row). Its alert in GET /api/alerts says why; run Test & Enable once it is fixed.'
    query: 'customMetrics\n| where name == "emailsync.mailbox.disabled"\n| summarize disabled = sum(value) by mailbox = tostring(customDimensions["mailbox.id"]), profile = tostring(customDimensions["profile.id"]), direction = tostring(customDimensions.direction), code = tostring(customDimensions["error.code"])\n| where disabled > 0'
  }
  {
    name: 'failure-rate'
    severity: 2
    description: 'More than ${failureRatePercent}% of poll and send runs failed in 15 minutes (at least ${failureRateMinimumRuns} runs): a mail server, Storage or Key Vault is likely down.'
    query: 'customMetrics\n| where name in ("emailsync.poll.duration", "emailsync.send.duration")\n| summarize runs = sum(valueCount), failed = sumif(valueCount, tostring(customDimensions.outcome) in ("failed", "connectionFailed"))\n| where runs >= ${failureRateMinimumRuns} and failed * 100.0 / runs > ${failureRatePercent}'
  }
]

resource alertRules 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [
  for rule in rules: {
    name: '${namePrefix}-${rule.name}'
    location: location
    tags: tags
    properties: {
      displayName: 'email-sync: ${rule.name}'
      description: rule.description
      severity: rule.severity
      enabled: true
      scopes: [
        appInsightsId
      ]
      evaluationFrequency: 'PT5M'
      windowSize: 'PT15M'
      criteria: {
        allOf: [
          {
            query: rule.query
            timeAggregation: 'Count'
            operator: 'GreaterThan'
            threshold: 0
            failingPeriods: {
              numberOfEvaluationPeriods: 1
              minFailingPeriodsToAlert: 1
            }
          }
        ]
      }
      autoMitigate: true
      actions: actions
    }
  }
]

// The operations workbook: messages, run durations, disabled/postponed mailboxes, queue depths.
resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, namePrefix, 'operations-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'email-sync operations'
    category: 'workbook'
    sourceId: appInsightsId
    serializedData: replace(loadTextContent('../workbooks/operations.workbook.json'), '__APPLICATION_INSIGHTS_ID__', appInsightsId)
  }
}

output workbookName string = workbook.properties.displayName
output alertRuleNames string[] = [for (rule, i) in rules: alertRules[i].name]
