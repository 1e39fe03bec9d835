#!/usr/bin/env node
// Runs every *.test.ts under the given folder with Node's built-in runner (TypeScript through tsx),
// then prints the line CI reads: "N passed, N failed". Type-checking is `npm run typecheck`.
import { spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = process.argv[2] ?? "test";
const filter = process.argv[3];

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === "fixtures" || name === "node_modules" ? [] : find(p);
    return p.endsWith(".test.ts") ? [p] : [];
  });
}

const files = find(root).filter((f) => !filter || f.includes(filter)).sort();
if (files.length === 0) {
  console.log(`no test files under ${root}`);
  console.log("0 passed, 0 failed");
  process.exit(1);
}

const args = [
  "--import", "tsx",
  "--test", "--test-reporter=spec",
  `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`,
  `--test-timeout=${process.env.TEST_TIMEOUT_MS ?? 180000}`,
  ...files.map((f) => relative(process.cwd(), f)),
];
const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"], env: { LOG_LEVEL: "silent", ...process.env } });
let tail = "";
child.stdout.on("data", (chunk) => {
  process.stdout.write(chunk);
  tail = (tail + chunk.toString()).slice(-4000);
});
child.on("exit", (code, signal) => {
  const count = (name) => Number(tail.match(new RegExp(`ℹ ${name} (\\d+)`))?.[1] ?? 0);
  const passed = count("pass");
  const failed = count("fail") + count("cancelled");
  const skipped = count("skipped");
  console.log(`\n${passed} passed, ${failed} failed${skipped ? ` (${skipped} skipped)` : ""}`);
  process.exit(code ?? (signal ? 1 : 0));
});
