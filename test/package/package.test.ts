/**
 * The deployment package, built as azd builds it, loads in the Functions Node.js worker and
 * registers what the docs promise (issue 12 point 2).
 *
 * azd (azure.yaml: language ts, host function, dist dist/.package, prepackage hook) runs
 * `npm install`, `npm run build`, the prepackage hook (`node scripts/package.mjs`), `npm run build`
 * again, then zips dist/.package honouring the .funcignore inside it (decision 0021). This test
 * runs the same script into a temporary folder and loads the staged package.json `main` with
 * scripts/package-load.mjs, which answers `@azure/functions-core` as the worker does.
 *
 * Cost: `npm ci --omit=dev` into the folder, about 40 s from the local npm cache (--prefer-offline);
 * the build is skipped when dist/ is newer than every source file (CI builds just before).
 *
 *   node scripts/run-tests.mjs test package
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const HARNESS = join(ROOT, "scripts", "package-load.mjs");
const API_MD = resolve(ROOT, "..", "shared", "API.md");

/** API.md "Function names", written out; checked against the document below when it is present. */
const NON_HTTP = [
  { name: "mailboxScheduler", type: "timerTrigger", schedule: "%SCHEDULER_SCHEDULE%" },
  { name: "mailboxIncoming", type: "queueTrigger", queueName: "mailbox-incoming" },
  { name: "mailboxOutgoing", type: "queueTrigger", queueName: "mailbox-outgoing" },
  { name: "mailboxTest", type: "queueTrigger", queueName: "mailbox-test" },
];

/** The routes API.md names, as "METHOD route-below-/api" with parameters written `{}`: the fallback when it is absent. */
const ROUTES = [
  "GET health", "GET settings", "PUT settings", "PATCH settings",
  "POST profiles", "GET profiles", "GET profiles/{}", "PATCH profiles/{}", "DELETE profiles/{}", "POST profiles/{}/test-and-enable",
  "POST mailboxes", "GET mailboxes", "GET mailboxes/{}", "PATCH mailboxes/{}", "DELETE mailboxes/{}",
  "POST mailboxes/{}/approve", "POST mailboxes/{}/reject", "POST mailboxes/{}/test-and-enable",
  "POST mailboxes/apply-default-settings", "POST mailboxes/bulk", "GET jobs/{}",
  "GET emails", "GET emails/{}", "GET emails/{}/raw", "POST emails", "POST emails/{}/cancel",
  "POST contacts", "GET contacts", "DELETE contacts/{}", "GET alerts", "GET openapi.json", "GET console",
];
/** Routes API.md names that are not the deployed app's. */
const NOT_DEPLOYED: Record<string, string> = { "POST sandbox/messages": "dev host with the mail sandbox only (never deployed)" };
/** A catch-all segment (`console/{*path}`) also matches nothing: ASP.NET Core routing, which the host uses, lets it be empty. */
const CATCH_ALL = /\/\{\*[^}]*\}$/;

interface Binding { type: string; direction: string; route?: string; methods?: string[]; authLevel?: string; queueName?: string; connection?: string; schedule?: string }
interface Registered { name: string; hasCallback: boolean; bindings: Record<string, Binding> }
interface HarnessOutput { programmingModel: { name: string; version: string } | null; functions: Registered[] }

let staged = "";
let loaded: HarnessOutput & { stderr: string };

function newest(dir: string): number {
  return readdirSync(dir).reduce((max, name) => {
    const p = join(dir, name);
    const s = statSync(p);
    return Math.max(max, s.isDirectory() ? newest(p) : name.endsWith(".ts") ? s.mtimeMs : 0);
  }, 0);
}

function runHarness(env: Record<string, string>): HarnessOutput & { stderr: string } {
  const r = spawnSync(process.execPath, [HARNESS], {
    cwd: staged, encoding: "utf8", timeout: 60_000,
    // The worker's environment, not the test runner's: no tsx loader, no dev settings.
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", LOG_LEVEL: "silent", ...env },
  });
  assert.equal(r.status, 0, `the staged entry point failed to load:\n${r.stderr}`);
  return { ...(JSON.parse(r.stdout.trim().split("\n").pop() ?? "") as HarnessOutput), stderr: r.stderr };
}

function trigger(f: Registered): Binding {
  const t = Object.values(f.bindings).find((b) => b.direction === "in" && b.type.endsWith("Trigger"));
  assert.ok(t, `${f.name} has no trigger binding`);
  return t;
}

function routeKey(method: string, route: string): string {
  return `${method} ${route.replace(/\{[^}]*\}/g, "{}")}`;
}

before(() => {
  staged = mkdtempSync(join(tmpdir(), "email-sync-package-"));
  const main = join(ROOT, "dist", "functions", "index.js");
  const fresh = existsSync(main) && statSync(main).mtimeMs > Math.max(newest(join(ROOT, "functions")), newest(join(ROOT, "shared")));
  execFileSync(process.execPath, [join(ROOT, "scripts", "package.mjs"), "--out", staged, ...(fresh ? ["--no-build"] : [])], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
  loaded = runHarness({});
});

after(() => {
  if (staged) rmSync(staged, { recursive: true, force: true });
});

test("the staged package holds compiled output, host.json and package.json, and no sources, tests, dev host or local settings", () => {
  const top = readdirSync(staged).sort();
  for (const required of ["dist", "host.json", "node_modules", "package.json", ".funcignore"]) assert.ok(top.includes(required), `${required} missing`);
  for (const never of ["functions", "shared", "devhost", "console", "test-browser", "test", "test-e2e", "test-fuzz", "infra", "scripts", "docs", "tools", "local.settings.json",
    "local.settings.sample.json", "package-lock.json", "tsconfig.json", "azure.yaml", "README.md"]) {
    assert.ok(!top.includes(never), `${never} must not ship`);
  }
  assert.deepEqual(readdirSync(join(staged, "dist")).filter((d) => !["functions", "shared", "console"].includes(d)), [], "only app code under dist/");
  assert.deepEqual(JSON.parse(readFileSync(join(staged, "host.json"), "utf8")), JSON.parse(readFileSync(join(ROOT, "host.json"), "utf8")));
  // azd before 1.23.12 drops node_modules when the zipped folder has no ignore file: it must not exclude it.
  const rules = readFileSync(join(staged, ".funcignore"), "utf8").split("\n").filter((l) => l.trim() && !l.startsWith("#"));
  assert.ok(rules.length > 0 && rules.every((l) => !l.includes("node_modules")), rules.join(", "));
});

test("node_modules holds production dependencies only: no devDependency or optional dependency is installed", () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as Record<string, Record<string, string> | undefined>;
  const prodOnly = new Set(Object.keys(pkg.dependencies ?? {}));
  for (const name of [...Object.keys(pkg.devDependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})]) {
    if (prodOnly.has(name)) continue;
    // A dev tool may still be a transitive production dependency; the lock then marks it non-dev.
    const lock = JSON.parse(readFileSync(join(staged, "node_modules", ".package-lock.json"), "utf8")) as { packages: Record<string, { dev?: boolean }> };
    const entry = lock.packages[`node_modules/${name}`];
    assert.ok(!existsSync(join(staged, "node_modules", name)) || (entry !== undefined && !entry.dev), `devDependency ${name} was staged`);
  }
  const lock = JSON.parse(readFileSync(join(staged, "node_modules", ".package-lock.json"), "utf8")) as { packages: Record<string, { dev?: boolean; optional?: boolean }> };
  const dev = Object.entries(lock.packages).filter(([, p]) => p.dev).map(([k]) => k);
  assert.deepEqual(dev, [], "no package marked dev in the staged lock");
  for (const heavy of ["typescript", "eslint", "azurite", "tsx", "azure-functions-core-tools"]) assert.ok(!existsSync(join(staged, "node_modules", heavy)), heavy);
});

test("the entry point loads as the Node.js worker loads it and uses the v4 programming model", () => {
  assert.equal(loaded.programmingModel?.name, "@azure/functions");
  assert.match(loaded.programmingModel?.version ?? "", /^4\./);
  const names = loaded.functions.map((f) => f.name);
  assert.equal(new Set(names).size, names.length, `duplicate function names: ${names.join(", ")}`);
  for (const f of loaded.functions) assert.ok(f.hasCallback, `${f.name} registered without a handler`);
});

test("every function of API.md 'Function names' registers with its trigger, queue and schedule", () => {
  for (const want of NON_HTTP) {
    const f = loaded.functions.find((x) => x.name === want.name);
    assert.ok(f, `${want.name} is not registered`);
    const t = trigger(f);
    assert.equal(t.type, want.type, want.name);
    if (want.queueName) {
      assert.equal(t.queueName, want.queueName, want.name);
      assert.equal(t.connection, "AzureWebJobsStorage", `${want.name}: identity-based AzureWebJobsStorage__* settings`);
    }
    // The schedule is the app setting SCHEDULER_SCHEDULE (API.md "Configuration"), resolved by the host.
    if (want.schedule) assert.equal(t.schedule, want.schedule, want.name);
  }
  const nonHttp = loaded.functions.filter((f) => trigger(f).type !== "httpTrigger").map((f) => f.name).sort();
  assert.deepEqual(nonHttp, NON_HTTP.map((f) => f.name).sort(), "no undocumented non-HTTP function");
});

/** Every "METHOD route" API.md names (parameters written `{}`), or the ROUTES fallback without it. */
function documentedRoutes(): string[] {
  if (!existsSync(API_MD)) return ROUTES;
  const found = new Set<string>();
  for (const m of readFileSync(API_MD, "utf8").matchAll(/`((?:GET|POST|PUT|PATCH|DELETE)(?:\|(?:GET|POST|PUT|PATCH|DELETE))*) \/api\/([^`?\s]+)/g)) {
    for (const method of (m[1] ?? "").split("|")) found.add(routeKey(method, (m[2] ?? "").replace(/\/$/, "")));
  }
  return [...found].filter((r) => !NOT_DEPLOYED[r]).sort();
}

test("every documented route registers, anonymous at the host level (the app checks keys and roles itself)", () => {
  const http = loaded.functions.filter((f) => trigger(f).type === "httpTrigger");
  const registered = new Map<string, Binding>();
  for (const f of http) {
    const b = trigger(f);
    assert.equal(b.authLevel, "anonymous", `${f.name}: keys are checked by shared/http/auth.ts under every host`);
    for (const m of b.methods ?? []) {
      registered.set(routeKey(m, b.route ?? ""), b);
      if (CATCH_ALL.test(b.route ?? "")) registered.set(routeKey(m, (b.route ?? "").replace(CATCH_ALL, "")), b);
    }
  }
  for (const route of documentedRoutes()) {
    assert.ok(registered.has(route), `documented route ${route} is not registered`);
  }
  for (const route of Object.keys(NOT_DEPLOYED)) assert.ok(!registered.has(route), `${route} must not be deployed`);
});

test("API.md names the functions listed above, and every route of the fallback list", (t) => {
  if (!existsSync(API_MD)) {
    t.skip(`${API_MD} not present: the fallback lists were checked instead`);
    return;
  }
  const doc = readFileSync(API_MD, "utf8");
  const section = doc.slice(doc.indexOf("## Function names"), doc.indexOf("##", doc.indexOf("## Function names") + 3));
  const documentedNames = [...section.matchAll(/`(mailbox[A-Za-z]+)`/g)].map((m) => m[1]).sort();
  assert.deepEqual(documentedNames, NON_HTTP.map((f) => f.name).sort());
  for (const f of NON_HTTP) if (f.queueName) assert.match(section, new RegExp(`\`${f.queueName}\``));
  const documented = new Set(documentedRoutes());
  assert.deepEqual(ROUTES.filter((r) => !documented.has(r)), [], "the fallback list holds no route API.md dropped");
});

test("the staged package also loads with Application Insights configured (Azure Monitor initialises from production dependencies)", () => {
  const out = runHarness({
    APPLICATIONINSIGHTS_CONNECTION_STRING: "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://127.0.0.1:9/",
  });
  assert.deepEqual(out.functions.map((f) => f.name), loaded.functions.map((f) => f.name));
  assert.doesNotMatch(out.stderr, /Azure Monitor did not start/, out.stderr);
});

test("azure.yaml makes azd build this package: required azd version, dist folder, prepackage hook, local build", () => {
  const yaml = readFileSync(join(ROOT, "azure.yaml"), "utf8");
  // remoteBuild is ignored before 1.23.5 (azure-dev #6748): the server would then build a package without sources.
  assert.match(yaml, /^requiredVersions:\n\s+azd: ['"]>= ?1\.23\.5['"]/m);
  assert.match(yaml, /^\s+dist: dist\/\.package$/m);
  assert.match(yaml, /^\s+remoteBuild: false$/m);
  assert.match(yaml, /prepackage:[\s\S]*?run: node scripts\/package\.mjs$/m);
  assert.doesNotMatch(yaml, /npm prune/, "nothing prunes the working copy any more");
  // azd 1.23.12+ refuses remoteBuild: false when the service's .funcignore excludes node_modules.
  const rootIgnore = readFileSync(join(ROOT, ".funcignore"), "utf8").split("\n").filter((l) => l.trim() && !l.startsWith("#"));
  assert.deepEqual(rootIgnore.filter((l) => /^\/?node_modules\/?$/.test(l.trim())), []);
});

test(".funcignore rules: anchored, folder-only and basename patterns match as gitignore does; unsupported syntax is refused", async () => {
  type Rule = unknown;
  const mod = (await import(pathToFileURL(join(ROOT, "scripts", "package.mjs")).href)) as {
    parseIgnore: (text: string) => Rule[];
    ignored: (rules: Rule[], rel: string, isDir: boolean) => boolean;
  };
  const rules = mod.parseIgnore("# comment\n/functions/\n/dist/devhost/\n*.log\n/local.settings.json\n");
  assert.equal(mod.ignored(rules, "functions", true), true);
  assert.equal(mod.ignored(rules, "dist/functions", true), false, "an anchored pattern does not match deeper");
  assert.equal(mod.ignored(rules, "dist/devhost", true), true);
  assert.equal(mod.ignored(rules, "dist/shared/x.log", false), true, "a basename pattern matches at any depth");
  assert.equal(mod.ignored(rules, "local.settings.json", false), true);
  assert.equal(mod.ignored(rules, "functions", false), false, "a trailing / matches folders only");
  for (const bad of ["!dist/keep.js", "dist/**/x", "[ab].js"]) {
    assert.throws(() => mod.parseIgnore(bad), /unsupported pattern/, bad);
  }
  // The project's own .funcignore parses.
  assert.ok(mod.parseIgnore(readFileSync(join(ROOT, ".funcignore"), "utf8")).length > 10);
});

test("a package without its dependencies fails to load, naming the missing module (the loader can fail)", () => {
  const dir = mkdtempSync(join(tmpdir(), "email-sync-broken-package-"));
  try {
    writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module", main: "dist/functions/index.js" }));
    mkdirSync(join(dir, "dist", "functions"), { recursive: true });
    writeFileSync(join(dir, "dist", "functions", "index.js"), 'import { app } from "@azure/functions";\napp.http("x", { handler: async () => ({}) });\n');
    const r = spawnSync(process.execPath, [HARNESS, dir], { encoding: "utf8", timeout: 30_000 });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /Cannot find package '@azure\/functions'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
