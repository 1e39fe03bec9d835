/**
 * @module The first thing `npm start` does with the sandbox on: make sure its certificate exists,
 * and when this process does not trust it yet, say how the dev host is to be started again
 * (trust.ts). Settings are read leniently here; runStart validates them all and names bad ones.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { findOnPath } from "../startup.js";
import { mergeSettings, LOCAL_SETTINGS, LOCAL_SETTINGS_SAMPLE } from "../localSettings.js";
import { ensureCertificate } from "./certificate.js";
import { readSandboxConfig } from "./config.js";
import { trustedEnv, trustsSandboxCa } from "./trust.js";

function fileValues(root: string): Record<string, string> {
  for (const name of [LOCAL_SETTINGS, LOCAL_SETTINGS_SAMPLE]) {
    const path = join(root, name);
    if (!existsSync(path)) continue;
    try {
      const values = (JSON.parse(readFileSync(path, "utf8")) as { Values?: Record<string, unknown> }).Values ?? {};
      return Object.fromEntries(Object.entries(values).filter((e): e is [string, string] => typeof e[1] === "string"));
    } catch {
      return {};
    }
  }
  return {};
}

/** The environment to start the dev host again with, or undefined to go on in this process. */
export async function sandboxRelaunchEnv(root: string, argv: string[], env: Record<string, string | undefined>): Promise<Record<string, string | undefined> | undefined> {
  const read = readSandboxConfig(mergeSettings(env, fileValues(root)), root, true);
  if (!read.ok || !read.config.enabled) return undefined;
  // The sandbox runs in the dev host only; under `func start` there is none to trust.
  if (!argv.includes("--devhost") && findOnPath("func", env)) return undefined;
  const cert = await ensureCertificate(read.config.dataDir);
  if (trustsSandboxCa(env, cert.caPath)) return undefined;
  if (cert.created) console.log(`Generated the mail sandbox's certificate and CA in ${read.config.dataDir}.`);
  return trustedEnv(env, cert.caPath, read.config.dataDir);
}
