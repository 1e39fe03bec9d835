import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../shared/runtime/azurite.js";
import type { FunctionDefinition } from "../../shared/runtime/functionDefinitions.js";
import { findOnPath, runStart, StartupError } from "../../devhost/startup.js";

/** Storage that is not UseDevelopmentStorage=true, so no Azurite starts (and none is contacted). */
const OTHER_STORAGE = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;QueueEndpoint=http://127.0.0.1:9/devstoreaccount1;";

const health: FunctionDefinition = {
  kind: "http", name: "health", route: "health", methods: ["GET"],
  handler: () => Promise.resolve({ jsonBody: { status: "ok" } }),
};

describe("dev host: npm start", () => {
  let root: string;
  let printed: string[];
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "devhost-start-"));
    printed = [];
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("names every bad setting and does not start", async () => {
    writeFileSync(join(root, "local.settings.json"), JSON.stringify({ Values: { API_KEY: "short", SCHEDULER_SCHEDULE: "* * *" } }));
    await assert.rejects(
      runStart({ root, argv: ["--devhost"], env: { AzureWebJobsStorage: OTHER_STORAGE }, loadDefinitions: () => Promise.resolve([health]), print: (l) => printed.push(l) }),
      (err: unknown) => {
        assert.ok(err instanceof StartupError);
        assert.match(err.message, /API_KEY: must be at least 8 characters/);
        assert.match(err.message, /SCHEDULER_SCHEDULE: must be an NCRONTAB expression/);
        return true;
      },
    );
  });

  it("creates local.settings.json, merges settings into the environment and starts the dev host", async () => {
    writeFileSync(join(root, "local.settings.sample.json"), JSON.stringify({ Values: { API_KEY: "file-admin-key", API_MASTER_KEY: "file-master-key", LOCAL_SECRETS_KEY: "" } }));
    const port = await freePort();
    const env: Record<string, string | undefined> = { AzureWebJobsStorage: OTHER_STORAGE, PORT: String(port), API_KEY: "env-admin-key", PATH: "" };
    const started = await runStart({ root, argv: [], env, loadDefinitions: () => Promise.resolve([health]), print: (l) => printed.push(l), log: () => undefined });
    try {
      assert.equal(started.mode, "devhost");
      assert.ok(printed.includes(`Dev host listening on http://localhost:${port}/api`), printed.join("\n"));
      assert.ok(printed.some((l) => l.includes(`health: [GET] http://localhost:${port}/api/health`)));
      assert.ok(printed.some((l) => l.startsWith("Created ")));
      assert.equal(env.API_KEY, "env-admin-key", "the environment wins");
      assert.equal(env.API_MASTER_KEY, "file-master-key", "the file fills the rest");
      assert.equal(Buffer.from(env.LOCAL_SECRETS_KEY ?? "", "base64").length, 32);
      assert.equal(env.SCHEDULER_SCHEDULE, "0 */1 * * * *", "defaults are filled in");
      const res = await fetch(`http://127.0.0.1:${port}/api/health`);
      assert.equal(res.status, 200);
    } finally {
      await started.stop();
    }
  });

  it("runs func start instead when Core Tools is on the PATH", { skip: process.platform === "win32" }, async () => {
    const bin = join(root, "bin");
    mkdirSync(bin);
    const out = join(root, "func-args.txt");
    writeFileSync(join(bin, "func"), `#!/bin/sh\necho "$@ key=$LOCAL_SECRETS_KEY" > "${out}"\nexit 3\n`);
    chmodSync(join(bin, "func"), 0o755);
    assert.equal(findOnPath("func", { PATH: bin }), join(bin, "func"));
    const env: Record<string, string | undefined> = { AzureWebJobsStorage: OTHER_STORAGE, PATH: bin, PORT: "7099" };
    let loaded = false;
    const started = await runStart({ root, argv: [], env, loadDefinitions: () => { loaded = true; return Promise.resolve([]); }, print: (l) => printed.push(l) });
    assert.equal(started.mode, "func");
    assert.equal(await started.exited, 3, "func's exit code is passed on");
    assert.match(readFileSync(out, "utf8"), /^start --port 7099 key=[A-Za-z0-9+/]{43}=\n$/);
    assert.equal(loaded, false, "the definitions are not loaded under func");
  });
});
