// Parameters of infra/main.bicep, read from the environment of whoever deploys, so that no value
// (and above all no secret) is committed. Used by both
//   az deployment group create -g <rg> -f infra/main.bicep -p infra/main.bicepparam
// and `azd up` (azd exports the values of `azd env set NAME value` before compiling this file).
//
// The variable names carry an EMAIL_SYNC_ prefix on purpose: a developer shell that has the app's
// own local settings exported (API_KEY=local-admin-key, a fast SCHEDULER_SCHEDULE) must not leak
// them into a cloud deployment.
//
// Required:
//   EMAIL_SYNC_API_KEY          admin key (API_KEY), >= 16 URL-safe chars, e.g. $(openssl rand -hex 32)
//   EMAIL_SYNC_API_MASTER_KEY   admin + approver key (API_MASTER_KEY), same rules, different from it
// Optional (defaults in brackets):
//   AZURE_ENV_NAME                     environment name, part of resource names [email-sync]
//   EMAIL_SYNC_SCHEDULER_SCHEDULE      NCRONTAB of mailboxScheduler [0 */1 * * * *]
//   EMAIL_SYNC_OPERATOR_PRINCIPAL_ID   object id of a user or group that may read/rotate the API keys [none]
//   EMAIL_SYNC_OPERATOR_PRINCIPAL_TYPE User | Group | ServicePrincipal, what that id is [User]
//   EMAIL_SYNC_ALERT_EMAIL             address that receives the alerts [none]
//   EMAIL_SYNC_RESOURCE_LOCK           true | false: CanNotDelete lock on the resource group [false]
//   EMAIL_SYNC_ENABLE_EASY_AUTH        true | false [false]
//   EMAIL_SYNC_EASY_AUTH_CLIENT_ID     app registration client id (with Easy Auth) [none]
//   EMAIL_SYNC_KEYVAULT_PURGE_PROTECTION true | false [true]
// Anything else (see main.bicep): add a `param <name> = <value>` line below.

using './main.bicep'

param environmentName = readEnvironmentVariable('AZURE_ENV_NAME', 'email-sync')

// No default: compiling this file fails with a clear message when they are missing.
param apiKey = readEnvironmentVariable('EMAIL_SYNC_API_KEY')
param apiMasterKey = readEnvironmentVariable('EMAIL_SYNC_API_MASTER_KEY')

param schedulerSchedule = readEnvironmentVariable('EMAIL_SYNC_SCHEDULER_SCHEDULE', '0 */1 * * * *')

param operatorPrincipalId = readEnvironmentVariable('EMAIL_SYNC_OPERATOR_PRINCIPAL_ID', '')
param operatorPrincipalType = readEnvironmentVariable('EMAIL_SYNC_OPERATOR_PRINCIPAL_TYPE', 'User')

param alertEmailAddress = readEnvironmentVariable('EMAIL_SYNC_ALERT_EMAIL', '')
param enableResourceLock = bool(readEnvironmentVariable('EMAIL_SYNC_RESOURCE_LOCK', 'false'))

param enableEasyAuth = bool(readEnvironmentVariable('EMAIL_SYNC_ENABLE_EASY_AUTH', 'false'))
param easyAuthClientId = readEnvironmentVariable('EMAIL_SYNC_EASY_AUTH_CLIENT_ID', '')

param keyVaultPurgeProtection = bool(readEnvironmentVariable('EMAIL_SYNC_KEYVAULT_PURGE_PROTECTION', 'true'))
