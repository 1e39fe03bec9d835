/**
 * @module local.settings.json, as Core Tools reads it: `Values` are app settings, and the
 * environment wins over them. On first start the file is created from local.settings.sample.json
 * with a fresh LOCAL_SECRETS_KEY, so the embedded secret store works without any set-up; the file
 * is git-ignored and written readable by its owner only, because it holds that key.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const LOCAL_SETTINGS = "local.settings.json";
export const LOCAL_SETTINGS_SAMPLE = "local.settings.sample.json";

export interface LocalSettings {
  path: string;
  /** The file did not exist and was created from the sample. */
  created: boolean;
  /** LOCAL_SECRETS_KEY was missing or empty and a new one was written. */
  generatedKey: boolean;
  values: Record<string, string>;
  /** `Host.LocalHttpPort`, which Core Tools uses as its port. */
  localHttpPort: number | undefined;
}

/** 32 random bytes, base64: the AES-256-GCM key of the embedded secret store. */
export function generateSecretsKey(): string {
  return randomBytes(32).toString("base64");
}

function readJson(path: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new Error(`${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error(`${path} must hold a JSON object`);
  return parsed as Record<string, unknown>;
}

function valuesOf(file: Record<string, unknown>, path: string): Record<string, string> {
  const raw = file.Values ?? {};
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new Error(`${path}: "Values" must be an object`);
  const values: Record<string, string> = {};
  for (const [name, v] of Object.entries(raw)) {
    if (typeof v === "string") values[name] = v;
    else if (typeof v === "number" || typeof v === "boolean") values[name] = String(v);
    else if (v !== null) throw new Error(`${path}: Values.${name} must be a string`);
  }
  return values;
}

/**
 * Reads `<dir>/local.settings.json`, creating it from the sample when missing and filling in
 * LOCAL_SECRETS_KEY when it is missing or empty. Other content is kept as it is.
 */
export function ensureLocalSettings(dir: string): LocalSettings {
  const path = join(dir, LOCAL_SETTINGS);
  const created = !existsSync(path);
  let file: Record<string, unknown>;
  if (created) {
    const sample = join(dir, LOCAL_SETTINGS_SAMPLE);
    file = existsSync(sample) ? readJson(sample) : { IsEncrypted: false, Values: {} };
  } else {
    file = readJson(path);
  }
  if (file.IsEncrypted === true) {
    throw new Error(`${path} is encrypted (IsEncrypted: true); decrypt it with "func settings decrypt" first`);
  }
  const values = valuesOf(file, path);
  const generatedKey = !values.LOCAL_SECRETS_KEY;
  if (generatedKey) {
    values.LOCAL_SECRETS_KEY = generateSecretsKey();
    file.Values = { ...(file.Values as Record<string, unknown> | undefined), LOCAL_SECRETS_KEY: values.LOCAL_SECRETS_KEY };
  }
  if (created || generatedKey) writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  const host = file.Host as { LocalHttpPort?: unknown } | undefined;
  const port = host?.LocalHttpPort;
  return { path, created, generatedKey, values, localHttpPort: typeof port === "number" ? port : undefined };
}

/**
 * Environment first, then local.settings.json. An empty variable counts as unset (loadAppSettings
 * reads it so too), so `LOCAL_SECRETS_KEY=` in a shell does not hide the file's key.
 */
export function mergeSettings(env: Record<string, string | undefined>, values: Record<string, string>): Record<string, string> {
  const merged: Record<string, string> = { ...values };
  for (const [name, v] of Object.entries(env)) if (v !== undefined && v !== "") merged[name] = v;
  return merged;
}

/** Puts merged settings into the environment where it has none, so the app's code sees them. */
export function applyToEnv(values: Record<string, string>, env: Record<string, string | undefined> = process.env): void {
  for (const [name, v] of Object.entries(values)) if (env[name] === undefined || env[name] === "") env[name] = v;
}
