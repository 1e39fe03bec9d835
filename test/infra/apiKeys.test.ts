/**
 * API keys are refused at start when they could not work: equal (every admin would approve) or not
 * URL-safe (base64 `+`, `/`, `=` break `?code=KEY`). The same rules hold in infra/ (apikeys.bicep).
 *
 *   node scripts/run-tests.mjs test infra/apiKeys
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { AppError } from "../../shared/errors.js";
import { loadAppSettings, URL_SAFE_KEY } from "../../shared/config/appSettings.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const BASE = { LOCAL_SECRETS_KEY: Buffer.alloc(32, 7).toString("base64") };

function refusal(env: Record<string, string>): AppError {
  try {
    loadAppSettings({ ...BASE, ...env });
  } catch (err) {
    assert.ok(err instanceof AppError);
    assert.equal(err.code, "CONFIGURATION_INVALID");
    return err;
  }
  assert.fail("the settings were accepted");
}

test("the same value for API_KEY and API_MASTER_KEY stops start-up, naming API_MASTER_KEY and never printing the key", () => {
  const key = "same-key-for-both-0123456789abcdef";
  const err = refusal({ API_KEY: key, API_MASTER_KEY: key });
  assert.match(err.message, /API_MASTER_KEY: must differ from API_KEY/);
  assert.ok(!err.message.includes(key), "the message does not contain the key");
  assert.ok(!JSON.stringify(err.details).includes(key), "nor do the details");
});

test("a base64 key with + / = stops start-up naming the setting, with how to make a good one", () => {
  const key = "q1+Zr/9x0mAaBbCcDdEeFf==";
  for (const name of ["API_KEY", "API_MASTER_KEY"]) {
    const err = refusal({ [name]: key });
    assert.match(err.message, new RegExp(`${name}: must be URL-safe`));
    assert.match(err.message, /openssl rand -hex 32/);
    assert.ok(!err.message.includes(key));
  }
});

test("URL-safe, distinct keys (hex, base64url, the local defaults) are accepted", () => {
  const s = loadAppSettings({ ...BASE, API_KEY: "0f".repeat(32), API_MASTER_KEY: "Zm9v-YmFy_YmF6.fo~o" });
  assert.equal(s.API_KEY, "0f".repeat(32));
  const sample = JSON.parse(readFileSync(join(ROOT, "local.settings.sample.json"), "utf8")) as { Values: Record<string, string> };
  loadAppSettings({ ...BASE, API_KEY: sample.Values.API_KEY ?? "", API_MASTER_KEY: sample.Values.API_MASTER_KEY ?? "" });
});

test("an unresolved Key Vault reference gets its own message only, not a URL-safety one", () => {
  const err = refusal({ API_KEY: "@Microsoft.KeyVault(SecretUri=https://kvk-x.vault.azure.net/secrets/api-key/1)" });
  assert.match(err.message, /API_KEY: is an unresolved Key Vault reference/);
  assert.doesNotMatch(err.message, /URL-safe/);
});

test("infra/ allows exactly the characters the app allows", () => {
  const bicep = readFileSync(join(ROOT, "infra/modules/apikeys.bicep"), "utf8");
  const alphabet = /!contains\('([^']+)', substring\(key, i, 1\)\)/.exec(bicep)?.[1] ?? "";
  assert.equal(alphabet.length, 26 + 26 + 10 + 4, "A-Z a-z 0-9 and - . _ ~");
  assert.ok(URL_SAFE_KEY.test(alphabet), "every character Bicep allows, the app allows");
  for (let c = 32; c < 127; c++) {
    const ch = String.fromCharCode(c);
    assert.equal(alphabet.includes(ch), URL_SAFE_KEY.test(ch), `character ${JSON.stringify(ch)}`);
  }
  assert.match(bicep, /apiMasterKey == apiKey \? fail\('apiMasterKey \(EMAIL_SYNC_API_MASTER_KEY\) must differ from apiKey/);
});
