#!/usr/bin/env node
// Runs every *.test.ts under the given folder with Node's built-in runner (TypeScript through tsx),
// then prints the line CI reads: "N passed, N failed". Type-checking is `npm run typecheck`.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
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

// The e2e tier talks to Dovecot and Postfix over TLS signed by the e2e test CA, and to a few
// servers with the fixture CA (an expired certificate, say). The app trusts them the way an admin
// would trust a private CA: NODE_EXTRA_CA_CERTS, which Node reads only at start-up.
const extraEnv = {};
if (root === "test-e2e") {
  const state = process.env.E2E_STATE_DIR ?? "/var/lib/email-sync-e2e";
  const envFile = join(state, "e2e.env");
  // As root, always run the setup: it is idempotent and (re)starts the daemons, which a state
  // directory left by an earlier run does not prove are running (a rebooted or copied machine).
  if (process.getuid?.() === 0) execFileSync("bash", ["scripts/e2e/setup.sh"], { stdio: "inherit" });
  else if (!existsSync(envFile)) console.log(`no ${envFile}: run scripts/e2e/setup.sh as root first`);
  if (existsSync(envFile)) {
    const ca = /^E2E_CA=(.*)$/m.exec(readFileSync(envFile, "utf8"))?.[1];
    const bundle = join(tmpdir(), "email-sync-e2e-ca.pem");
    writeFileSync(bundle, [ca ? readFileSync(ca, "utf8") : "", readFileSync("test/fixtures/tls/ca.crt", "utf8")].join("\n"));
    extraEnv.NODE_EXTRA_CA_CERTS = bundle;
  }
}

const args = [
  "--import", "tsx",
  "--test", "--test-reporter=spec",
  // The e2e files share one Dovecot and Postfix with fixed users (alice, bob, ...): run one file at
  // a time, or one file's emptyMaildir and deliveries race another's.
  `--test-concurrency=${process.env.TEST_CONCURRENCY ?? (root === "test-e2e" ? 1 : 2)}`,
  // The fuzz tier's files run for many minutes by design (10,000 messages, 150 crash points).
  `--test-timeout=${process.env.TEST_TIMEOUT_MS ?? (root === "test-fuzz" ? 3600000 : 180000)}`,
  ...files.map((f) => relative(process.cwd(), f)),
];
// Test token servers are plain http on 127.0.0.1: the dev-only setting lets them be (never set in Azure).
const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"], env: { LOG_LEVEL: "silent", ALLOW_INSECURE_TOKEN_URL: "loopback", ...process.env, ...extraEnv } });
// The runner's summary lines ("ℹ pass 569"), read line by line as they come: the failures' details
// are printed after the summary, so a fixed-size tail of the output can miss it.
const counts = {};
let partial = "";
child.stdout.setEncoding("utf8"); // a character split between two chunks stays whole
child.stdout.on("data", (chunk) => {
  process.stdout.write(chunk);
  const lines = (partial + chunk).split("\n");
  partial = lines.pop() ?? "";
  for (const line of lines) {
    const m = /^ℹ (pass|fail|cancelled|skipped) (\d+)\s*$/.exec(line);
    if (m) counts[m[1]] = Number(m[2]);
  }
});
child.on("exit", (code, signal) => {
  const count = (name) => counts[name] ?? 0;
  const passed = count("pass");
  const failed = count("fail") + count("cancelled");
  const skipped = count("skipped");
  console.log(`\n${passed} passed, ${failed} failed${skipped ? ` (${skipped} skipped)` : ""}`);
  process.exit(code ?? (signal ? 1 : 0));
});
