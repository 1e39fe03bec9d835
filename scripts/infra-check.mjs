#!/usr/bin/env node
// `npm run infra:check`: compiles and lints every .bicep and .bicepparam under infra/ with the Bicep
// CLI restored from NuGet (tools/bicep/bicep.csproj; needs the .NET SDK, nothing else). Any
// diagnostic, warning or error, fails the check: bicepconfig.json says which linter rules apply
// and why (docs/decisions/0020-bicep-check.md).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;
const TOOL = join(ROOT, "tools", "bicep");
const VERSION = /<BicepVersion>([^<]+)</.exec(readFileSync(join(TOOL, "bicep.csproj"), "utf8"))[1];

function bicepPath() {
  return join(TOOL, "packages", "azure.bicep.commandline.linux-x64", VERSION, "tools", "bicep");
}

function restore() {
  if (existsSync(bicepPath())) return;
  console.log(`restoring Bicep CLI ${VERSION} from NuGet (dotnet restore tools/bicep)`);
  execFileSync("dotnet", ["restore", join(TOOL, "bicep.csproj"), "--packages", join(TOOL, "packages"), "--nologo"], { stdio: "inherit" });
  if (!existsSync(bicepPath())) throw new Error(`restore did not produce ${bicepPath()}`);
}

function files(dir, ext) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p, ext) : p.endsWith(ext) ? [p] : [];
  }).sort();
}

if (process.platform !== "linux" || process.arch !== "x64") {
  console.error(`infra:check restores the linux-x64 Bicep CLI; on ${process.platform}-${process.arch} run \`az bicep build\` / \`az bicep lint\` instead.`);
  process.exit(1);
}
restore();
const bicep = bicepPath();
// The parameters file reads the API keys from the environment; placeholders are enough to compile.
const env = { ...process.env, EMAIL_SYNC_API_KEY: "compile-only-admin-key-0123456789", EMAIL_SYNC_API_MASTER_KEY: "compile-only-master-key-0123456789" };
const steps = [
  ...files(join(ROOT, "infra"), ".bicep").flatMap((f) => [["build", f], ["lint", f]]),
  ...files(join(ROOT, "infra"), ".bicepparam").flatMap((f) => [["build-params", f], ["lint", f]]),
];
let failed = 0;
for (const [verb, file] of steps) {
  const args = [verb, file, ...(verb === "lint" ? [] : ["--stdout"])];
  const r = spawnSync(bicep, args, { cwd: ROOT, env, encoding: "utf8", stdio: ["ignore", "ignore", "pipe"] });
  // Warnings go to stderr with exit code 0: any diagnostic fails the check.
  const diagnostics = (r.stderr ?? "").trim() || (r.error ? String(r.error) : "");
  const line = `${verb.padEnd(12)} ${relative(ROOT, file)}`;
  if (r.status !== 0 || diagnostics) {
    failed++;
    console.log(`FAIL ${line}\n${diagnostics}`);
  } else console.log(`ok   ${line}`);
}
console.log(`\ninfra:check with Bicep ${VERSION}: ${steps.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
