import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadAppSettings } from "../../shared/config/appSettings.js";
import { applyToEnv, ensureLocalSettings, mergeSettings } from "../../devhost/localSettings.js";

const SAMPLE = {
  IsEncrypted: false,
  Values: { FUNCTIONS_WORKER_RUNTIME: "node", API_KEY: "local-admin-key", LOCAL_SECRETS_KEY: "" },
  Host: { LocalHttpPort: 7071 },
};

describe("dev host: local.settings.json", () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), "devhost-settings-")); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const readFile = (): { Values: Record<string, string>; Host?: unknown } =>
    JSON.parse(readFileSync(join(dir, "local.settings.json"), "utf8")) as { Values: Record<string, string>; Host?: unknown };

  it("creates a missing file from the sample with a new 32-byte LOCAL_SECRETS_KEY", () => {
    writeFileSync(join(dir, "local.settings.sample.json"), JSON.stringify(SAMPLE));
    const s = ensureLocalSettings(dir);
    assert.equal(s.created, true);
    assert.equal(s.generatedKey, true);
    assert.equal(s.localHttpPort, 7071);
    const file = readFile();
    const key = file.Values.LOCAL_SECRETS_KEY ?? "";
    assert.equal(Buffer.from(key, "base64").length, 32);
    assert.match(key, /^[A-Za-z0-9+/]+={0,2}$/);
    assert.equal(s.values.LOCAL_SECRETS_KEY, key);
    assert.equal(file.Values.API_KEY, "local-admin-key");
    assert.deepEqual(file.Host, { LocalHttpPort: 7071 });
    assert.equal(loadAppSettings(s.values).LOCAL_SECRETS_KEY, key, "the generated key passes validation");
    if (process.platform !== "win32") assert.equal(statSync(join(dir, "local.settings.json")).mode & 0o777, 0o600);
    // A second start keeps the key.
    const again = ensureLocalSettings(dir);
    assert.equal(again.created, false);
    assert.equal(again.generatedKey, false);
    assert.equal(again.values.LOCAL_SECRETS_KEY, key);
  });

  it("creates a minimal file when there is no sample", () => {
    const s = ensureLocalSettings(dir);
    assert.equal(s.created, true);
    assert.equal(Buffer.from(readFile().Values.LOCAL_SECRETS_KEY ?? "", "base64").length, 32);
  });

  it("fills an empty key in an existing file and keeps everything else", () => {
    writeFileSync(join(dir, "local.settings.json"), JSON.stringify({ ...SAMPLE, Values: { ...SAMPLE.Values, EXTRA: "x" } }));
    const s = ensureLocalSettings(dir);
    assert.equal(s.created, false);
    assert.equal(s.generatedKey, true);
    const file = readFile();
    assert.equal(file.Values.EXTRA, "x");
    assert.equal(Buffer.from(file.Values.LOCAL_SECRETS_KEY ?? "", "base64").length, 32);
  });

  it("leaves a file that already has a key untouched", () => {
    const text = JSON.stringify({ Values: { LOCAL_SECRETS_KEY: Buffer.alloc(32, 7).toString("base64") } });
    writeFileSync(join(dir, "local.settings.json"), text);
    assert.equal(ensureLocalSettings(dir).generatedKey, false);
    assert.equal(readFileSync(join(dir, "local.settings.json"), "utf8"), text);
  });

  it("refuses an encrypted file and says what to do", () => {
    writeFileSync(join(dir, "local.settings.json"), JSON.stringify({ IsEncrypted: true, Values: {} }));
    assert.throws(() => ensureLocalSettings(dir), /encrypted.*func settings decrypt/);
  });

  it("the environment wins over the file; an empty variable does not", () => {
    const merged = mergeSettings({ API_KEY: "from-env-key", LOCAL_SECRETS_KEY: "", PATH: "/bin" }, { API_KEY: "from-file-key", LOCAL_SECRETS_KEY: "k" });
    assert.equal(merged.API_KEY, "from-env-key");
    assert.equal(merged.LOCAL_SECRETS_KEY, "k");
    assert.equal(merged.PATH, "/bin");
    const env: Record<string, string | undefined> = { API_KEY: "from-env-key", LOCAL_SECRETS_KEY: "" };
    applyToEnv(merged, env);
    assert.deepEqual(env, { API_KEY: "from-env-key", LOCAL_SECRETS_KEY: "k", PATH: "/bin" });
  });
});
