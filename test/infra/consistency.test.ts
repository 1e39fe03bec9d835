/**
 * Keeps infra/ and the code in step, without the Bicep CLI (the Bicep text is read by
 * test/infra/bicepText.ts). When `bicep` or `az` is on the PATH it also compiles infra/.
 *
 *   node --import tsx --test test/infra/consistency.test.ts
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { accessSync, constants, readFileSync } from "node:fs";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { AccessToken, TokenCredential } from "@azure/identity";
import { appSettingsSchema, loadAppSettings, storageTarget } from "../../shared/config/appSettings.js";
import { createStorageClients } from "../../shared/storage/clients.js";
import { ALL_CONTAINERS, ALL_QUEUES, ALL_TABLES } from "../../shared/storage/names.js";
import { getPath, literal, mentions, objectText, readTree, resources, statements, type Resource } from "./bicepText.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const BICEP = readTree(ROOT, "infra", ".bicep");
const MAIN = "infra/main.bicep";
const ALL_RESOURCES: Resource[] = [...BICEP].flatMap(([file, src]) => resources(file, src));

function source(file: string): string {
  const src = BICEP.get(file);
  assert.ok(src !== undefined, `${file} is missing`);
  return src;
}

/** The one declared (non-`existing`) resource of a type; fails when there are none or several. */
function declared(type: string): Resource {
  const found = ALL_RESOURCES.filter((r) => r.type === type && !r.existing);
  assert.equal(found.length, 1, `expected exactly one ${type} resource, found ${found.length}`);
  return found[0] as Resource;
}

function prop(r: Resource, ...path: string[]): string | undefined {
  return getPath(r.body, path);
}

/** Settings in the schema that infra/ deliberately does not set, each with the reason. */
const OPTIONAL: Record<string, string> = {
  ALLOW_INSECURE_TOKEN_URL: "dev only: lets an OAuth token URL be plain http to loopback (tests, dev host); never set in Azure",
  AzureWebJobsStorage:
    "the storage connection string: Azure uses the identity-based AzureWebJobsStorage__* settings instead, the account has shared keys disabled",
  LOCAL_SECRETS_KEY: "key of the embedded secret store, used only when KEY_VAULT_URL is not set; Azure sets KEY_VAULT_URL",
  PORT: "HTTP port of the dev host (npm start); the Functions host in Azure does not read it",
};

/**
 * Settings read by the Functions host or the platform rather than by our code. Note that the
 * Flex Consumption plan rejects some classic ones (FUNCTIONS_WORKER_RUNTIME,
 * FUNCTIONS_EXTENSION_VERSION, WEBSITE_NODE_DEFAULT_VERSION, ...): see FLEX_REJECTED.
 */
const PLATFORM = [/^APPLICATIONINSIGHTS_/, /^WEBSITE_/, /^FUNCTIONS_/, /^AzureFunctionsJobHost__/];

/** Settings the Flex Consumption plan does not accept: they live in functionAppConfig or are gone. */
const FLEX_REJECTED = [
  "FUNCTIONS_WORKER_RUNTIME",
  "FUNCTIONS_EXTENSION_VERSION",
  "WEBSITE_NODE_DEFAULT_VERSION",
  "WEBSITE_RUN_FROM_PACKAGE",
  "WEBSITE_CONTENTSHARE",
  "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
];

/** The Function App's settings as written in infra/ (the one `sites/config` named `appsettings`). */
function infraAppSettings(): Map<string, string> {
  const configs = ALL_RESOURCES.filter((r) => r.type === "Microsoft.Web/sites/config" && literal(prop(r, "name") ?? "") === "appsettings");
  assert.equal(configs.length, 1, "exactly one Microsoft.Web/sites/config 'appsettings' resource holds the app settings");
  const properties = prop(configs[0] as Resource, "properties") ?? "";
  assert.ok(properties.startsWith("{"), "the appsettings resource has an object literal as properties");
  return objectText(properties);
}

function schemaKeys(): string[] {
  return Object.keys(appSettingsSchema.shape);
}

test("app settings in infra/ are exactly the ones the code reads in Azure (plus platform settings)", () => {
  const infra = infraAppSettings();
  const inInfra = [...infra.keys()];
  const schema = schemaKeys();

  for (const name of Object.keys(OPTIONAL)) {
    assert.ok(schema.includes(name), `OPTIONAL lists ${name}, which appSettingsSchema no longer has: drop it from the list`);
    assert.ok(!infra.has(name), `${name} is listed as optional (${OPTIONAL[name]}) but infra/ sets it`);
  }

  const applyInAzure = schema.filter((k) => !(k in OPTIONAL)).sort();
  const missing = applyInAzure.filter((k) => !infra.has(k));
  assert.deepEqual(missing, [], `app settings the code reads but infra/modules/functionapp.bicep does not set: ${missing.join(", ")} ` +
    "(set them there, or add them to OPTIONAL in this test with the reason)");

  const unknown = inInfra.filter((k) => !schema.includes(k) && !PLATFORM.some((p) => p.test(k))).sort();
  assert.deepEqual(unknown, [], `infra/ sets app settings nothing reads: ${unknown.join(", ")} (add them to shared/config/appSettings.ts or drop them)`);

  const rejected = inInfra.filter((k) => FLEX_REJECTED.includes(k));
  assert.deepEqual(rejected, [], `Flex Consumption rejects these settings: ${rejected.join(", ")}`);
});

test("app settings hold no secret: keys are Key Vault references, storage is identity-based", () => {
  const infra = infraAppSettings();
  for (const name of ["API_KEY", "API_MASTER_KEY"]) {
    const value = literal(infra.get(name) ?? "");
    assert.match(value, /^@Microsoft\.KeyVault\(SecretUri=\$\{\w+\}\)$/, `${name} must be a Key Vault reference, not a value`);
  }
  assert.equal(literal(infra.get("AzureWebJobsStorage__credential") ?? ""), "managedidentity");
  assert.ok(!infra.has("AzureWebJobsStorage"), "no storage connection string");
  for (const [name, value] of infra) {
    assert.doesNotMatch(value, /listKeys|list\w*\(|AccountKey=|SharedAccessSignature|sig=/i, `${name} must not carry a key`);
  }
  assert.equal(
    literal(infra.get("APPLICATIONINSIGHTS_AUTHENTICATION_STRING") ?? ""),
    "Authorization=AAD;ClientId=${identityClientId}",
    "telemetry is sent with the managed identity (Application Insights has local auth disabled)",
  );

  const site = declared("Microsoft.Web/sites");
  assert.equal(prop(site, "properties", "keyVaultReferenceIdentity"), "identityId", "Key Vault references resolve with the user-assigned identity");
  assert.equal(literal(prop(site, "identity", "type") ?? ""), "UserAssigned");
  assert.equal(prop(site, "properties", "siteConfig", "appSettings"), undefined, "settings live only in the appsettings resource");
});

test("the Function App is Flex Consumption (FC1) running Node.js 22, deployed with the identity", () => {
  const plan = declared("Microsoft.Web/serverfarms");
  assert.equal(literal(prop(plan, "sku", "name") ?? ""), "FC1");
  assert.equal(literal(prop(plan, "sku", "tier") ?? ""), "FlexConsumption");
  assert.equal(prop(plan, "properties", "reserved"), "true");

  const site = declared("Microsoft.Web/sites");
  assert.equal(literal(prop(site, "kind") ?? ""), "functionapp,linux");
  assert.equal(prop(site, "properties", "httpsOnly"), "true");
  const config = ["properties", "functionAppConfig"];
  assert.equal(literal(prop(site, ...config, "runtime", "name") ?? ""), "node");
  assert.equal(literal(prop(site, ...config, "runtime", "version") ?? ""), "22");
  assert.equal(literal(prop(site, ...config, "deployment", "storage", "type") ?? ""), "blobContainer");
  assert.equal(literal(prop(site, ...config, "deployment", "storage", "authentication", "type") ?? ""), "UserAssignedIdentity");
  assert.ok(prop(site, ...config, "scaleAndConcurrency", "maximumInstanceCount"), "scaleAndConcurrency is set");
});

test("every table, queue and container the code uses is created by infra/", () => {
  const main = statements(source(MAIN));
  const listVar = (name: string): string[] => {
    const v = main.find((s) => s.keyword === "var" && s.name === name);
    assert.ok(v, `${MAIN} declares var ${name}`);
    return [...v.value.matchAll(/'([^']*)'/g)].map((m) => m[1] ?? "");
  };
  const sorted = (xs: string[]): string[] => [...xs].sort();
  assert.deepEqual(sorted(listVar("tableNames")), sorted(ALL_TABLES), "tableNames = ALL_TABLES (shared/storage/names.ts)");
  assert.deepEqual(sorted(listVar("queueNames")), sorted(ALL_QUEUES), "queueNames = ALL_QUEUES, -poison queues included");
  assert.deepEqual(sorted(listVar("containerNames")), sorted(ALL_CONTAINERS), "containerNames = ALL_CONTAINERS");

  // main.bicep hands the lists to the storage module, which loops over them.
  const storageModule = main.find((s) => s.keyword === "module" && /modules\/storage\.bicep/.test(s.text));
  assert.ok(storageModule, "main.bicep uses modules/storage.bicep");
  const params = getPath(storageModule.value.slice(storageModule.value.indexOf("{")), ["params"]) ?? "";
  for (const list of ["tableNames", "queueNames", "containerNames"]) {
    assert.equal(objectText(params).get(list), list, `main.bicep passes ${list} to the storage module`);
  }
  const loops: [string, string][] = [
    ["Microsoft.Storage/storageAccounts/tableServices/tables", "tableNames"],
    ["Microsoft.Storage/storageAccounts/queueServices/queues", "queueNames"],
    ["Microsoft.Storage/storageAccounts/blobServices/containers", "containerNames"],
  ];
  for (const [type, list] of loops) {
    const r = declared(type);
    assert.equal(r.file, "infra/modules/storage.bicep");
    assert.ok(r.loop && mentions(r.loop.replace(/^for\s+\w+\s+in\s+/, ""), list), `${type} is created for each name in ${list} (loop: ${r.loop})`);
    assert.equal(r.condition, undefined, `${type} is not conditional`);
  }
});

test("storage has shared-key access disabled", () => {
  const storage = declared("Microsoft.Storage/storageAccounts");
  assert.equal(prop(storage, "properties", "allowSharedKeyAccess"), "false");
  assert.equal(prop(storage, "properties", "allowBlobPublicAccess"), "false");
  assert.equal(prop(storage, "properties", "defaultToOAuthAuthentication"), "true");
  assert.equal(literal(prop(storage, "properties", "minimumTlsVersion") ?? ""), "TLS1_2");
});

test("Key Vault uses RBAC authorization; Application Insights has local auth disabled", () => {
  const vault = declared("Microsoft.KeyVault/vaults");
  assert.equal(prop(vault, "properties", "enableRbacAuthorization"), "true");
  assert.equal(prop(vault, "properties", "enableSoftDelete"), "true");
  assert.equal(prop(vault, "properties", "accessPolicies"), undefined, "no access policies next to RBAC");

  const insights = declared("Microsoft.Insights/components");
  assert.equal(prop(insights, "properties", "DisableLocalAuth"), "true");
  const workspace = declared("Microsoft.OperationalInsights/workspaces");
  assert.ok(mentions(prop(insights, "properties", "WorkspaceResourceId") ?? "", workspace.symbol), "Application Insights sits on the Log Analytics workspace");
});

test("no output mentions a secure parameter, listKeys or a connection string", () => {
  let outputs = 0;
  for (const [file, src] of BICEP) {
    const all = statements(src);
    const secure = all.filter((s) => s.keyword === "param" && s.decorators.some((d) => d.startsWith("@secure"))).map((s) => s.name);
    for (const out of all.filter((s) => s.keyword === "output")) {
      outputs += 1;
      const where = `${file}: output ${out.name}`;
      assert.ok(!out.decorators.some((d) => d.startsWith("@secure")), `${where} is not a secure output`);
      for (const p of secure) assert.ok(!mentions(out.value, p), `${where} mentions secure param ${p}`);
      assert.doesNotMatch(out.value, /\blist\w*\(|listKeys|connectionstring|getSecret\(/i, `${where} exposes a key or connection string`);
      assert.doesNotMatch(out.name, /password|connectionstring/i, `${where}: the name suggests a secret`);
    }
  }
  assert.ok(outputs > 0, "found the outputs");

  const mainOutputs = statements(source(MAIN)).filter((s) => s.keyword === "output").map((s) => s.name);
  for (const name of ["FUNCTION_APP_URL", "KEY_VAULT_URI", "MANAGED_IDENTITY_CLIENT_ID"]) {
    assert.ok(mainOutputs.includes(name), `main.bicep outputs ${name}`);
  }
});

test("secure parameters only flow into Key Vault secrets", () => {
  const main = statements(source(MAIN));
  const secure = main.filter((s) => s.keyword === "param" && s.decorators.some((d) => d.startsWith("@secure"))).map((s) => s.name);
  assert.deepEqual([...secure].sort(), ["apiKey", "apiMasterKey"]);
  for (const p of secure) {
    const users = main.filter((s) => s.keyword !== "param" && mentions(s.value, p));
    assert.deepEqual(users.map((s) => `${s.keyword} ${s.name}`), ["module apiKeys"], `${p} is only handed to the API keys module`);
  }
  const file = "infra/modules/apikeys.bicep";
  const kv = source(file);
  const secrets = resources(file, kv).filter((r) => r.type === "Microsoft.KeyVault/vaults/secrets" && !r.existing);
  assert.deepEqual(secrets.map((r) => literal(prop(r, "name") ?? "")).sort(), ["api-key", "api-master-key"]);
  for (const [p, secretName] of [["apiKey", "api-key"], ["apiMasterKey", "api-master-key"]] as const) {
    const users = statements(kv).filter((s) => s.keyword !== "param" && mentions(s.value, p));
    assert.ok(users.length > 0, `${p} is used in ${file}`);
    for (const u of users) assert.ok(secrets.some((r) => r.symbol === u.name), `${p} is only used inside a secret resource, not in ${u.keyword} ${u.name}`);
    // After the checks, the value written is the parameter itself, never a transformation of it.
    const secret = secrets.find((r) => literal(prop(r, "name") ?? "") === secretName) as Resource;
    assert.match(prop(secret, "properties", "value") ?? "", new RegExp(`:\\s*${p}$`), `the ${secretName} secret holds ${p}`);
  }
});

/** Role definition id of a role assignment, resolved through the file's vars. */
function roleIdOf(a: Resource): string {
  const vars = new Map(statements(source(a.file)).filter((s) => s.keyword === "var").map((s) => [s.name, literal(s.value)]));
  const ref = /subscriptionResourceId\('Microsoft\.Authorization\/roleDefinitions',\s*(\w+|'[^']*')\)/.exec(prop(a, "properties", "roleDefinitionId") ?? "");
  const arg = ref?.[1] ?? "";
  return (arg.startsWith("'") ? literal(arg) : vars.get(arg)) ?? "";
}

const SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6";
const SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7";

test("the managed identity's roles are scoped to what the app touches: its containers, queues, tables, vault and secrets", () => {
  const expected: { role: string; id: string; scopeType: string; loopOver?: string }[] = [
    { role: "Storage Blob Data Owner", id: "b7e6dc6d-f1e8-4753-8033-0f276bb0955b", scopeType: "Microsoft.Storage/storageAccounts/blobServices/containers", loopOver: "hostContainerNames" },
    { role: "Storage Blob Data Contributor", id: "ba92f5b4-2d11-453d-a403-e96b0029c9fe", scopeType: "Microsoft.Storage/storageAccounts/blobServices/containers", loopOver: "containerNames" },
    { role: "Storage Queue Data Contributor", id: "974c5e8b-45b9-4653-ba55-5f855dd0fb88", scopeType: "Microsoft.Storage/storageAccounts/queueServices/queues", loopOver: "queueNames" },
    { role: "Storage Table Data Contributor", id: "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3", scopeType: "Microsoft.Storage/storageAccounts/tableServices" },
    { role: "Key Vault Secrets Officer", id: SECRETS_OFFICER, scopeType: "Microsoft.KeyVault/vaults" },
    { role: "Key Vault Secrets User", id: SECRETS_USER, scopeType: "Microsoft.KeyVault/vaults/secrets" },
    { role: "Monitoring Metrics Publisher", id: "3913510d-42f4-4e42-8a64-420c390055eb", scopeType: "Microsoft.Insights/components" },
  ];
  const assignments = ALL_RESOURCES.filter((r) => r.type === "Microsoft.Authorization/roleAssignments" && !r.existing);
  const app = assignments.filter((a) => prop(a, "properties", "principalId") === "principalId");
  const known = new Set(expected.map((e) => e.id));
  assert.deepEqual(app.filter((a) => !known.has(roleIdOf(a))).map((a) => a.symbol), [], "the app's identity holds no other role");
  for (const { role, id, scopeType, loopOver } of expected) {
    const matches = app.filter((a) => roleIdOf(a) === id);
    assert.ok(matches.length > 0, `the app holds ${role}`);
    for (const a of matches) {
      assert.equal(a.condition, undefined, `${role} (${a.symbol}) is unconditional`);
      assert.equal(literal(prop(a, "properties", "principalType") ?? ""), "ServicePrincipal");
      const scope = (prop(a, "scope") ?? "").replace(/\[\w+\]$/, "");
      const target = resources(a.file, source(a.file)).find((r) => r.symbol === scope);
      assert.equal(target?.type, scopeType, `${role} (${a.symbol}) is scoped to a ${scopeType}, not ${target?.type ?? scope}`);
      if (loopOver) assert.ok(a.loop && mentions(a.loop, loopOver), `${role} is assigned once per name in ${loopOver} (loop: ${a.loop})`);
    }
  }
  // The secrets the app may read are exactly the two API keys; it holds no write role on their vault.
  const rbac = resources("infra/modules/rbac.bicep", source("infra/modules/rbac.bicep"));
  const secretNames = app.filter((a) => roleIdOf(a) === SECRETS_USER)
    .map((a) => literal(prop(rbac.find((r) => r.symbol === prop(a, "scope")) as Resource, "name") ?? "")).sort();
  assert.deepEqual(secretNames, ["api-key", "api-master-key"]);
  assert.deepEqual(app.filter((a) => roleIdOf(a) === SECRETS_OFFICER).map((a) => prop(a, "scope")), ["credentialsVault"], "Secrets Officer only on the credentials vault");

  const rbacModule = statements(source(MAIN)).find((s) => s.keyword === "module" && /modules\/rbac\.bicep/.test(s.text));
  assert.ok(rbacModule);
  const params = objectText(getPath(rbacModule.value.slice(rbacModule.value.indexOf("{")), ["params"]) ?? "{}");
  assert.equal(params.get("principalId"), "identity.outputs.principalId", "the roles go to the app's user-assigned identity");
  assert.equal(params.get("credentialsVaultName"), "keyVault.outputs.name", "KEY_VAULT_URL's vault is the credentials vault");
  assert.equal(params.get("keysVaultName"), "keysVault.outputs.name");
  // The operator's role: on the keys vault only, with a declared principal type.
  const operator = assignments.filter((a) => prop(a, "properties", "principalId") === "operatorPrincipalId");
  assert.equal(operator.length, 1);
  assert.equal(prop(operator[0] as Resource, "scope"), "keysVault");
  assert.equal(prop(operator[0] as Resource, "properties", "principalType"), "operatorPrincipalType");
});

test("main.bicepparam reads secrets from the environment and sets every required parameter", () => {
  const param = readFileSync(join(ROOT, "infra/main.bicepparam"), "utf8");
  const set = statements(param).filter((s) => s.keyword === "param");
  assert.match(param, /^using '\.\/main\.bicep'$/m);
  const required = statements(source(MAIN)).filter((s) => s.keyword === "param" && !s.value).map((s) => s.name);
  for (const name of required) assert.ok(set.some((s) => s.name === name), `main.bicepparam sets required param ${name}`);
  for (const name of ["apiKey", "apiMasterKey"]) {
    const s = set.find((x) => x.name === name);
    assert.match(s?.value ?? "", /^readEnvironmentVariable\('EMAIL_SYNC_\w+'\)$/, `${name} comes from the environment, with no default`);
  }
});

test("azure.yaml, .funcignore and the Entra app roles are in place", () => {
  const yaml = readFileSync(join(ROOT, "azure.yaml"), "utf8");
  for (const line of [/^ {2}api:$/m, /^ {4}project: \.$/m, /^ {4}language: (ts|js)$/m, /^ {4}host: function$/m, /^ {2}path: infra$/m]) {
    assert.match(yaml, line);
  }

  const ignore = readFileSync(join(ROOT, ".funcignore"), "utf8").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  for (const must of ["/local.settings.json", "/.azure/", "/functions/", "/shared/", "/test/", "/infra/"]) {
    assert.ok(ignore.includes(must), `.funcignore excludes ${must}`);
  }
  const kept = ["dist", "host.json", "package.json", "node_modules"];
  for (const line of ignore) {
    const bare = line.replace(/^\//, "").replace(/\/$/, "");
    assert.ok(!kept.includes(bare) && !["*", "*.js", "*.json"].includes(bare), `.funcignore must keep ${bare} in the package`);
  }

  const roles = JSON.parse(readFileSync(join(ROOT, "infra/entra/app-roles.json"), "utf8")) as { id: string; value: string }[];
  assert.deepEqual(roles.map((r) => r.value).sort(), ["Email.Admin", "Email.Approver"]);
  for (const r of roles) assert.match(r.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
});

// ---------------------------------------------------------------------------------------------
// The code side: the settings Azure gives the app build identity-based clients.
// ---------------------------------------------------------------------------------------------

const fakeCredential: TokenCredential = {
  getToken: (): Promise<AccessToken> => Promise.resolve({ token: "fake-token", expiresOnTimestamp: Date.now() + 3_600_000 }),
};

test("Azure-style settings (accountName, credential, clientId) give identity-based clients with the service URLs", () => {
  const settings = loadAppSettings({
    AzureWebJobsStorage__accountName: "stemailsync123",
    AzureWebJobsStorage__credential: "managedidentity",
    AzureWebJobsStorage__clientId: "00000000-0000-0000-0000-000000000001",
    KEY_VAULT_URL: "https://kv-emailsync.vault.azure.net/",
    API_KEY: "resolved-admin-key-value",
    API_MASTER_KEY: "resolved-master-key-value",
  });
  const target = storageTarget(settings);
  assert.deepEqual(target, {
    kind: "identity",
    blobUri: "https://stemailsync123.blob.core.windows.net",
    queueUri: "https://stemailsync123.queue.core.windows.net",
    tableUri: "https://stemailsync123.table.core.windows.net",
    clientId: "00000000-0000-0000-0000-000000000001",
  });
  assert.equal(settings.LOCAL_SECRETS_KEY, undefined, "Key Vault replaces the embedded store");

  const clients = createStorageClients(target, fakeCredential);
  assert.equal(clients.blobs.url.replace(/\/$/, ""), "https://stemailsync123.blob.core.windows.net");
  assert.equal(clients.queues.url.replace(/\/$/, ""), "https://stemailsync123.queue.core.windows.net");
  assert.equal(clients.tables.url.replace(/\/$/, ""), "https://stemailsync123.table.core.windows.net");
  assert.equal(clients.table("mailboxes").tableName, "mailboxes");
  assert.equal(clients.blobs.getContainerClient("raw-messages").url, "https://stemailsync123.blob.core.windows.net/raw-messages");
  assert.equal(clients.queues.getQueueClient("mailbox-incoming").url, "https://stemailsync123.queue.core.windows.net/mailbox-incoming");
  for (const url of [clients.blobs.url, clients.queues.url, clients.tables.url]) {
    assert.doesNotMatch(url, /sig=|AccountKey|devstoreaccount1|127\.0\.0\.1/, "no key, SAS or emulator in the URL");
  }
});

test("the exact settings infra/ writes parse, and give clients on the URIs it sets", () => {
  // Values as Azure would present them after resolving Key Vault references.
  const sample: Record<string, string> = {
    AzureWebJobsStorage__accountName: "stemailsync123",
    AzureWebJobsStorage__credential: "managedidentity",
    AzureWebJobsStorage__clientId: "00000000-0000-0000-0000-000000000002",
    AzureWebJobsStorage__blobServiceUri: "https://stemailsync123.blob.core.usgovcloudapi.net",
    AzureWebJobsStorage__queueServiceUri: "https://stemailsync123.queue.core.usgovcloudapi.net",
    AzureWebJobsStorage__tableServiceUri: "https://stemailsync123.table.core.usgovcloudapi.net",
    KEY_VAULT_URL: "https://kv-emailsync.vault.usgovcloudapi.net/",
    API_KEY: "resolved-admin-key-value",
    API_MASTER_KEY: "resolved-master-key-value",
    SCHEDULER_SCHEDULE: "0 */1 * * * *",
    LOG_LEVEL: "info",
    APPLICATIONINSIGHTS_CONNECTION_STRING: "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://example.invalid/",
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: "Authorization=AAD;ClientId=00000000-0000-0000-0000-000000000002",
  };
  const names = [...infraAppSettings().keys()];
  const env: Record<string, string> = {};
  for (const name of names) {
    const value = sample[name];
    assert.ok(value !== undefined, `this test has no sample value for ${name}: add one`);
    env[name] = value;
  }
  const settings = loadAppSettings(env);
  const target = storageTarget(settings);
  assert.equal(target.kind, "identity", "no connection string in Azure");
  const clients = createStorageClients(target, fakeCredential);
  assert.equal(clients.blobs.url.replace(/\/$/, ""), sample.AzureWebJobsStorage__blobServiceUri);
  assert.equal(clients.queues.url.replace(/\/$/, ""), sample.AzureWebJobsStorage__queueServiceUri);
  assert.equal(clients.tables.url.replace(/\/$/, ""), sample.AzureWebJobsStorage__tableServiceUri);
});

// ---------------------------------------------------------------------------------------------
// The real compiler, when there is one.
// ---------------------------------------------------------------------------------------------

function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    for (const name of process.platform === "win32" ? [`${command}.exe`, `${command}.cmd`] : [command]) {
      const candidate = join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/** The CLI `npm run infra:check` restores from NuGet (tools/bicep/bicep.csproj), if it has run. */
function restoredBicep(): string | undefined {
  const version = /<BicepVersion>([^<]+)</.exec(readFileSync(join(ROOT, "tools/bicep/bicep.csproj"), "utf8"))?.[1] ?? "";
  const p = join(ROOT, "tools/bicep/packages/azure.bicep.commandline.linux-x64", version, "tools/bicep");
  try {
    accessSync(p, constants.X_OK);
    return p;
  } catch {
    return undefined;
  }
}

test("bicep compiles infra/main.bicep and infra/main.bicepparam", (t) => {
  const bicep = restoredBicep() ?? onPath("bicep");
  const az = bicep ? undefined : onPath("az");
  if (!bicep && !az) {
    t.skip("no Bicep CLI: run `npm run infra:check` (restores it from NuGet) or put bicep on PATH");
    return;
  }
  const env = {
    ...process.env,
    EMAIL_SYNC_API_KEY: "compile-only-admin-key-0123456789",
    EMAIL_SYNC_API_MASTER_KEY: "compile-only-master-key-0123456789",
  };
  const run = (args: string[]): void => {
    const [cmd, argv] = bicep ? [bicep, args] : [az as string, ["bicep", ...args.slice(0, 1), "--file", ...args.slice(1)]];
    const out = execFileSync(cmd, [...argv, "--stdout"], { cwd: ROOT, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    assert.ok(out.trim().startsWith("{"), `${args.join(" ")} printed JSON`);
  };
  run(["build", "infra/main.bicep"]);
  run(["build-params", "infra/main.bicepparam"]);
});
