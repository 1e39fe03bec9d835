/**
 * @module What `npm start` prints once the sandbox and its demo org are up: where everything is,
 * the keys, the demo logins, and one curl command that sends mail from alice to bob.
 */
import type { SeedResult } from "./demoOrg.js";
import { CATCH_ALL } from "./mailStore.js";
import { SANDBOX_USERS, type Sandbox } from "./sandbox.js";

export interface BannerInput {
  apiUrl: string;
  adminKey: string;
  masterKey: string;
  sandbox: Pick<Sandbox, "host" | "smtpPort" | "pop3Port" | "caPath">;
  seed: SeedResult;
  schedule: string;
}

export function sandboxBanner(b: BannerInput): string {
  const { host, smtpPort, pop3Port, caPath } = b.sandbox;
  const lines = [
    "",
    "Mail sandbox (loopback only; nothing is relayed, mail for other addresses stays in the catch-all):",
    `  SMTP  ${host}:${smtpPort} (STARTTLS, AUTH PLAIN/LOGIN)    POP3  ${host}:${pop3Port} (STLS, USER/PASS, SASL PLAIN)`,
    `  CA    ${caPath} (trusted by this dev host only)`,
    `  Logins: ${Object.values(SANDBOX_USERS).map((u) => `${u.address} / ${u.password}`).join(", ")}; catch-all: ${CATCH_ALL}`,
    `  Inject a raw message: POST ${b.apiUrl}/sandbox/messages {"to": "bob@sandbox.test", "rawBase64": "..."}`,
    `API   ${b.apiUrl}   admin key: ${b.adminKey}   master key (admin + approver): ${b.masterKey}`,
  ];
  if (!b.seed.seeded) {
    lines.push(`Demo org not seeded: ${b.seed.reason}.`);
    return lines.join("\n");
  }
  const { org } = b.seed;
  lines.push(
    `Demo org: profile ${org.profileId}; mailboxes alice ${org.mailboxes.alice}, bob ${org.mailboxes.bob}, support (queue) ${org.mailboxes.support}; approved and enabled.`,
    `Send alice -> bob (bob's mailbox has it within one scheduler period, ${b.schedule}):`,
    `  curl -s -X POST ${b.apiUrl}/emails -H 'x-functions-key: ${b.adminKey}' -H 'content-type: application/json' \\`,
    `    -d '{"mailboxId": "${org.mailboxes.alice}", "to": ["${SANDBOX_USERS.bob.address}"], "subject": "Hello Bob", "text": "Sent through the sandbox."}'`,
    `Then: curl -s '${b.apiUrl}/emails?mailboxId=${org.mailboxes.bob}' -H 'x-functions-key: ${b.adminKey}'`,
  );
  return lines.join("\n");
}
