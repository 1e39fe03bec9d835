/**
 * docs/deploy.md and docs/telemetry.md stay true to infra/ and the code (issue 12 point 5): every
 * parameter and output is documented, every resource type is in the resource table, every
 * environment variable main.bicepparam reads is named, every metric and alert rule is explained.
 *
 *   node scripts/run-tests.mjs test infra/docs
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { readTree, resources, statements } from "./bicepText.js";
import { METRICS } from "../../shared/telemetry/metrics.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const DEPLOY = readFileSync(join(ROOT, "docs/deploy.md"), "utf8");
const TELEMETRY = readFileSync(join(ROOT, "docs/telemetry.md"), "utf8");
const MAIN = readFileSync(join(ROOT, "infra/main.bicep"), "utf8");

/** The lines of the markdown section that starts with `heading`, up to the next heading of its level. */
function section(doc: string, heading: string): string {
  const start = doc.indexOf(`${heading}\n`);
  assert.ok(start >= 0, `section ${heading} exists`);
  const level = heading.split(" ")[0] ?? "#";
  const rest = doc.slice(start + heading.length);
  const next = rest.search(new RegExp(`\\n${level} `));
  return next < 0 ? rest : rest.slice(0, next);
}

test("every parameter of main.bicep has a row in deploy.md's parameter table, with its env variable", () => {
  const table = section(DEPLOY, "### Parameters");
  const params = statements(MAIN).filter((s) => s.keyword === "param").map((s) => s.name);
  assert.ok(params.length > 20);
  for (const p of params) assert.match(table, new RegExp(`^\\| \`${p}\` \\|`, "m"), `parameter ${p} is documented`);
  const rows = [...table.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual(rows.filter((r) => !params.includes(r ?? "")), [], "no row for a parameter that no longer exists");
  const bicepparam = readFileSync(join(ROOT, "infra/main.bicepparam"), "utf8");
  for (const m of bicepparam.matchAll(/^param (\w+) = .*readEnvironmentVariable\('(\w+)'/gm)) {
    assert.match(table, new RegExp(`^\\| \`${m[1]}\` \\| \`${m[2]}\` \\|`, "m"), `${m[1]} comes from ${m[2]}`);
  }
});

test("every resource type infra/ declares is in deploy.md's resource table", () => {
  const table = section(DEPLOY, "## What gets deployed");
  const types = new Set([...readTree(ROOT, "infra", ".bicep")].flatMap(([file, src]) => resources(file, src)).filter((r) => !r.existing).map((r) => r.type));
  assert.ok(types.size > 15);
  for (const type of types) assert.ok(table.includes(`\`${type}\``), `${type} is in the table`);
});

test("every output of main.bicep is listed in deploy.md", () => {
  const outputs = section(DEPLOY, "### Outputs");
  for (const o of statements(MAIN).filter((s) => s.keyword === "output")) assert.ok(outputs.includes(`\`${o.name}\``), `output ${o.name}`);
});

test("deploy.md states the azd version azure.yaml requires, and walks through both paths, rotation and Easy Auth on and off", () => {
  const required = /azd: '>= ([\d.]+)'/.exec(readFileSync(join(ROOT, "azure.yaml"), "utf8"))?.[1];
  assert.ok(required);
  assert.match(section(DEPLOY, "## Prerequisites"), new RegExp(`${required.replace(/\./g, "\\.")} or later`));
  for (const heading of ["## Option A: `az deployment group create`", "## Option B: `azd up`", "## Rotating the API keys", "## Easy Auth: turning it on and off", "## Reading the workbook and the alerts", "## Teardown"]) {
    section(DEPLOY, heading);
  }
  assert.match(section(DEPLOY, "## Easy Auth: turning it on and off"), /EMAIL_SYNC_ENABLE_EASY_AUTH=false/);
  assert.match(section(DEPLOY, "## API keys: make two URL-safe keys"), /openssl rand -hex 32/);
});

test("telemetry.md explains every metric; deploy.md every alert rule", () => {
  for (const name of Object.keys(METRICS)) assert.match(TELEMETRY, new RegExp(`^\\| \`${name.replace(/\./g, "\\.")}\` \\|`, "m"), `${name} is in telemetry.md`);
  const alerts = readFileSync(join(ROOT, "infra/modules/alerts.bicep"), "utf8");
  for (const m of alerts.matchAll(/name: '([a-z-]+)'\n\s+severity/g)) assert.match(DEPLOY, new RegExp(`\\| \`${m[1]}\``), `alert ${m[1]} is explained`);
});
