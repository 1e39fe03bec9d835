/**
 * @module After the dev host is up with the sandbox on: seed the demo org (when this process trusts
 * the sandbox CA, or Test & Enable could only fail) and build the banner. A seed that fails is
 * reported, not fatal: the API and the sandbox still run, and the message says what went wrong.
 */
import { sandboxBanner } from "./banner.js";
import { seedDemoOrg, type SeedResult } from "./demoOrg.js";
import type { Sandbox } from "./sandbox.js";
import { trustsSandboxCa } from "./trust.js";

export interface AnnounceOptions {
  apiUrl: string;
  settings: Record<string, string | undefined>;
  env: Record<string, string | undefined>;
  sandbox: Sandbox;
}

export async function seedAndAnnounce(o: AnnounceOptions): Promise<string> {
  const adminKey = o.settings.API_KEY ?? "";
  const masterKey = o.settings.API_MASTER_KEY ?? "";
  let seed: SeedResult;
  if (!trustsSandboxCa(o.env, o.sandbox.caPath)) {
    seed = { seeded: false, reason: "this process does not trust the sandbox CA (start it with npm start, which sets NODE_EXTRA_CA_CERTS)" };
  } else if (!adminKey || !masterKey) {
    seed = { seeded: false, reason: "API_KEY and API_MASTER_KEY are both needed to seed it" };
  } else {
    try {
      seed = await seedDemoOrg({ apiUrl: o.apiUrl, adminKey, masterKey, sandbox: o.sandbox });
    } catch (err) {
      seed = { seeded: false, reason: `seeding failed: ${(err as Error).message}` };
    }
  }
  return sandboxBanner({ apiUrl: o.apiUrl, adminKey, masterKey, sandbox: o.sandbox, seed, schedule: o.settings.SCHEDULER_SCHEDULE ?? "" });
}
