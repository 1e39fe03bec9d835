/**
 * infra/ as the review asked (issue 12 point 3) and as an operator needs it (point 4): Easy Auth
 * can be switched off again, the two sites/config writes are ordered, diagnostic settings reach
 * Log Analytics, the lock is optional, and the alert rules and the workbook query metrics the app
 * really emits (shared/telemetry/metrics.ts).
 *
 *   node scripts/run-tests.mjs test infra/operations
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { readTree, resources, statements, type Resource } from "./bicepText.js";
import { DIMENSION_NAMES, METRICS } from "../../shared/telemetry/metrics.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const BICEP = readTree(ROOT, "infra", ".bicep");
const ALL: Resource[] = [...BICEP].flatMap(([file, src]) => resources(file, src));
const text = (file: string): string => BICEP.get(file) ?? assert.fail(`${file} is missing`);
/** The source text of a resource's declaration (the parser's view of its body). */
const body = (r: Resource): string => r.body;

test("Easy Auth settings are written on every deployment, so turning enableEasyAuth off turns it off", () => {
  const auth = ALL.filter((r) => r.type === "Microsoft.Web/sites/config" && /authsettingsV2/.test(body(r)));
  assert.equal(auth.length, 1);
  const r = auth[0] as Resource;
  assert.equal(r.condition, undefined, "not `if (enableEasyAuth)`: a skipped resource would leave the old settings in place");
  assert.match(body(r), /platform:\s*\{\s*enabled:\s*enableEasyAuth\s*\}/);
  assert.match(body(r), /identityProviders:\s*enableEasyAuth\s*\?/, "no identity provider is configured while it is off");
});

test("the two sites/config writes are ordered with an explicit dependsOn", () => {
  const configs = ALL.filter((r) => r.type === "Microsoft.Web/sites/config");
  assert.equal(configs.length, 2);
  const appSettings = configs.find((r) => /name:\s*'appsettings'/.test(body(r))) as Resource;
  const auth = configs.find((r) => r !== appSettings) as Resource;
  assert.match(body(auth), new RegExp(`dependsOn:\\s*\\[\\s*${appSettings.symbol}\\s*\\]`));
});

test("Key Vaults, the storage account and its services, and the Function App send diagnostics to Log Analytics", () => {
  const diagnostics = ALL.filter((r) => r.type === "Microsoft.Insights/diagnosticSettings");
  const scopedTo = (file: string, scope: string): Resource | undefined => diagnostics.find((d) => d.file === file && new RegExp(`scope:\\s*${scope}\\b`).test(body(d)));
  for (const [file, scope] of [
    ["infra/modules/keyvault.bicep", "vault"],
    ["infra/modules/storage.bicep", "storage"],
    ["infra/modules/storage.bicep", "blobService"],
    ["infra/modules/storage.bicep", "queueService"],
    ["infra/modules/storage.bicep", "tableService"],
    ["infra/modules/functionapp.bicep", "site"],
  ] as const) {
    const d = scopedTo(file, scope);
    assert.ok(d, `${file}: diagnostic settings on ${scope}`);
    assert.match(body(d), /workspaceId:\s*workspaceId/, `${file} ${scope} goes to the workspace`);
    assert.equal(d.condition, undefined);
  }
  // Both vaults are the keyvault module, and every module gets the workspace from monitoring.
  const main = statements(text("infra/main.bicep"));
  for (const name of ["keyVault", "keysVault", "storage", "functionApp"]) {
    const m = main.find((s) => s.keyword === "module" && s.name === name);
    assert.match(m?.value ?? "", /workspaceId:\s*monitoring\.outputs\.workspaceId/, `module ${name}`);
  }
});

test("the resource lock is optional and CanNotDelete", () => {
  const locks = ALL.filter((r) => r.type === "Microsoft.Authorization/locks");
  const [lock] = locks;
  assert.ok(lock && locks.length === 1);
  assert.equal(lock.condition, "enableResourceLock");
  assert.match(body(lock), /level:\s*'CanNotDelete'/);
});

/** Every `emailsync.*` name and every customDimensions key a query uses. */
function queried(src: string): { metrics: string[]; dimensions: string[] } {
  const metrics = [...src.matchAll(/emailsync\.[a-z.]+[a-z]/g)].map((m) => m[0]).filter((n) => !n.endsWith(".")).filter((n) => n.split(".").length === 3);
  const dimensions = [...src.matchAll(/customDimensions(?:\[\\?["']([^"'\\]+)\\?["']\]|\.([A-Za-z]+))/g)].map((m) => m[1] ?? m[2] ?? "");
  return { metrics, dimensions };
}

test("alert rules and the workbook query metrics and dimensions the app emits", () => {
  const alerts = text("infra/modules/alerts.bicep");
  const workbook = readFileSync(join(ROOT, "infra/workbooks/operations.workbook.json"), "utf8");
  JSON.parse(workbook);
  const names = new Set(Object.keys(METRICS));
  const dims = new Set<string>(DIMENSION_NAMES);
  for (const [what, src] of [["alerts.bicep", alerts], ["operations.workbook.json", workbook]] as const) {
    const q = queried(src);
    assert.ok(q.metrics.length > 0, `${what} queries metrics`);
    for (const m of q.metrics) assert.ok(names.has(m), `${what} queries ${m}, which shared/telemetry/metrics.ts does not define`);
    for (const d of q.dimensions) assert.ok(dims.has(d) || ["logger", "mailboxId", "code"].includes(d), `${what} reads dimension ${d}`);
  }
  // The three rules the issue asks for.
  const rules = [...alerts.matchAll(/name: '([a-z-]+)'\n\s+severity/g)].map((m) => m[1]);
  assert.deepEqual(rules, ["poison-queue-not-empty", "mailbox-disabled", "failure-rate"]);
  assert.match(alerts, /"emailsync\.queue\.depth" and tostring\(customDimensions\["queue\.poison"\]\) == "true"/);
  // The workbook charts every metric.
  for (const m of names) assert.ok(workbook.includes(m), `the workbook shows ${m}`);
  const wb = ALL.find((r) => r.type === "Microsoft.Insights/workbooks") as Resource;
  assert.match(body(wb), /loadTextContent\('\.\.\/workbooks\/operations\.workbook\.json'\)/);
});
