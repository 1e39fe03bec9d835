#!/usr/bin/env node
// `npm run package`: assembles the deployment package in a staging folder, the folder azd zips
// (azure.yaml: `dist: dist/.package`, built by the `prepackage` hook) and the one to publish with
// Core Tools or `az functionapp deployment source config-zip` (docs/deploy.md):
//
//   1. `npm run build` (tsc), unless --no-build;
//   2. copy every file of the project that the root .funcignore does not exclude (dist/, host.json,
//      package.json...), never node_modules/;
//   3. `npm ci --omit=dev --omit=optional` inside the staging folder, from package-lock.json (then
//      removed), so node_modules holds production dependencies only, exactly as locked;
//   4. write the staging folder's own .funcignore (see STAGED_FUNCIGNORE).
//
// Options: --out <dir> (default dist/.package), --no-build. Decision: docs/decisions/0021-package-staging.md.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";

const ROOT = resolve(new URL("..", import.meta.url).pathname);
export const DEFAULT_OUT = join(ROOT, "dist", ".package");

/**
 * azd before 1.23.12 drops node_modules from a Node.js function package that has no .funcignore
 * (azure-dev pkg/project/project_utils.go, createDeployableZip), whatever `remoteBuild` says; with
 * any .funcignore in the folder it zips exactly what the file leaves in. The staging folder holds
 * only what ships, so this one excludes nothing else; azd leaves the file itself out of the zip.
 */
const STAGED_FUNCIGNORE = `# Written by scripts/package.mjs. This folder holds only what ships: compiled dist/, host.json,
# package.json and production node_modules/. An ignore file must exist here, or azd releases before
# 1.23.12 leave node_modules out of the zip (docs/decisions/0021-package-staging.md).
local.settings.json
`;

/**
 * The subset of gitignore syntax .funcignore uses: comments, `*` and `?` within one path segment,
 * a leading or inner `/` anchoring the pattern at the root, a trailing `/` matching folders only.
 * Anything else (`!`, `**`, `[`) is refused rather than guessed at.
 */
export function parseIgnore(text) {
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith("#")).map((line) => {
    if (/^!|\*\*|\[/.test(line)) throw new Error(`.funcignore: unsupported pattern ${JSON.stringify(line)} (scripts/package.mjs parseIgnore)`);
    const dirOnly = line.endsWith("/");
    const body = line.replace(/\/$/, "");
    const anchored = body.includes("/");
    const glob = body.replace(/^\//, "").replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]");
    return { dirOnly, anchored, re: new RegExp(`^${glob}$`) };
  });
}

/** Whether the root-relative POSIX path `rel` is excluded by the parsed rules. */
export function ignored(rules, rel, isDir) {
  const base = rel.slice(rel.lastIndexOf("/") + 1);
  return rules.some((r) => (!r.dirOnly || isDir) && r.re.test(r.anchored ? rel : base));
}

function copyFiltered(rules, out) {
  let files = 0;
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const abs = join(dir, name);
      const rel = relative(ROOT, abs).split(sep).join("/");
      const isDir = statSync(abs).isDirectory();
      // node_modules is installed afresh (production only); the staging folder never copies itself.
      if (rel === "node_modules" || abs === out || ignored(rules, rel, isDir)) continue;
      if (isDir) walk(abs);
      else {
        mkdirSync(join(out, relative(ROOT, dir)), { recursive: true });
        cpSync(abs, join(out, rel));
        files++;
      }
    }
  };
  walk(ROOT);
  return files;
}

function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, stdio: "inherit", shell: process.platform === "win32" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed in ${cwd} (exit ${r.status ?? r.signal})`);
}

function sizeOf(dir) {
  return readdirSync(dir).reduce((sum, name) => {
    const p = join(dir, name);
    const s = statSync(p);
    return sum + (s.isDirectory() ? sizeOf(p) : s.size);
  }, 0);
}

export function stage({ out = DEFAULT_OUT, build = true } = {}) {
  out = resolve(out);
  if (build) run("npm", ["run", "build"], ROOT);
  const rules = parseIgnore(readFileSync(join(ROOT, ".funcignore"), "utf8"));
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const files = copyFiltered(rules, out);
  cpSync(join(ROOT, "package-lock.json"), join(out, "package-lock.json"));
  run("npm", ["ci", "--omit=dev", "--omit=optional", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], out);
  rmSync(join(out, "package-lock.json"));
  writeFileSync(join(out, ".funcignore"), STAGED_FUNCIGNORE);
  const main = JSON.parse(readFileSync(join(out, "package.json"), "utf8")).main;
  for (const required of ["host.json", "package.json", main]) {
    if (!existsSync(join(out, required))) throw new Error(`staged package lacks ${required}: run npm run build first, and keep it out of .funcignore`);
  }
  return { out, files, bytes: sizeOf(out) };
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  const args = process.argv.slice(2);
  const outAt = args.indexOf("--out");
  const r = stage({ out: outAt >= 0 ? args[outAt + 1] : DEFAULT_OUT, build: !args.includes("--no-build") });
  console.log(`package staged in ${relative(process.cwd(), r.out) || "."}: ${r.files} project files + production node_modules, ${(r.bytes / 1048576).toFixed(1)} MB`);
}
