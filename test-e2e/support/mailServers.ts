/**
 * The e2e mail servers (scripts/e2e/setup.sh): reads the env file the script writes, running the
 * script first when it is missing and this process is root (CI). Elsewhere it says what to run.
 */
import { execFileSync } from "node:child_process";
import { chownSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";

export interface MailServers {
  host: string;
  domain: string;
  pop3Port: number;
  pop3sPort: number;
  submissionPort: number;
  smtpsPort: number;
  /** PEM of the test CA that signed both servers' certificate. */
  ca: Buffer;
  mailRoot: string;
  /** user name -> password; addresses are `<user>@<domain>`. */
  users: Record<string, string>;
  /** What Dovecot accepts as OAuth 2.0 bearer tokens (JWTs it validates itself): see oauthJwt.ts. */
  oauth: OAuthIssuer;
}

export interface OAuthIssuer {
  /** Users without a password, who log in with a token only (`<user>@<domain>`, the token's email). */
  users: string[];
  /** The token's iss. */
  issuer: string;
  /** The token's azp: the OAuth client Dovecot has a key for. */
  clientId: string;
  /** A scope the token's scope claim must hold. */
  scope: string;
  /** The HS256 key that signs the tokens. */
  key: Buffer;
}

const STATE = process.env.E2E_STATE_DIR ?? "/var/lib/email-sync-e2e";
const SETUP = fileURLToPath(new URL("../../scripts/e2e/setup.sh", import.meta.url));

export function mailServers(): MailServers {
  const file = join(STATE, "e2e.env");
  if (!existsSync(file)) {
    if (process.getuid?.() !== 0) throw new Error(`No e2e mail servers (${file} is missing): run "sudo scripts/e2e/setup.sh" first.`);
    execFileSync(SETUP, { stdio: ["ignore", "ignore", "inherit"] });
  }
  const env = Object.fromEntries(readFileSync(file, "utf8").split("\n").filter((l) => l.includes("=")).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
  const get = (k: string): string => {
    const v = env[k];
    if (v === undefined) throw new Error(`${file} has no ${k}; run scripts/e2e/setup.sh again`);
    return v;
  };
  return {
    host: get("E2E_HOST"), domain: get("E2E_DOMAIN"),
    pop3Port: Number(get("E2E_POP3_PORT")), pop3sPort: Number(get("E2E_POP3S_PORT")),
    submissionPort: Number(get("E2E_SUBMISSION_PORT")), smtpsPort: Number(get("E2E_SMTPS_PORT")),
    ca: readFileSync(get("E2E_CA")), mailRoot: get("E2E_MAIL_ROOT"),
    users: Object.fromEntries(get("E2E_USERS").split(" ").map((u) => [u.slice(0, u.indexOf(":")), u.slice(u.indexOf(":") + 1)])),
    oauth: {
      users: get("E2E_OAUTH_USERS").split(" "), issuer: get("E2E_OAUTH_ISSUER"), clientId: get("E2E_OAUTH_CLIENT_ID"), scope: get("E2E_OAUTH_SCOPE"),
      key: Buffer.from(readFileSync(get("E2E_OAUTH_HS256_KEY"), "utf8").trim(), "base64"),
    },
  };
}

/** The delivered file in `user`'s Maildir that holds `needle` (a Message-ID), waiting for delivery. */
export async function waitForDelivery(servers: MailServers, user: string, needle: string, timeoutMs = 20_000): Promise<Buffer> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    for (const sub of ["new", "cur"]) {
      const dir = join(servers.mailRoot, user, "Maildir", sub);
      for (const name of existsSync(dir) ? readdirSync(dir) : []) {
        const bytes = readFileSync(join(dir, name));
        if (bytes.includes(needle)) return bytes;
      }
    }
    if (Date.now() > end) throw new Error(`nothing holding ${needle} reached ${user}'s Maildir in ${timeoutMs} ms (see /var/log/postfix-e2e.log)`);
    await sleep(200);
  }
}

/** Puts a message straight into `user`'s Maildir, as local delivery would, owned by the mail user. */
export function deliverToMaildir(servers: MailServers, user: string, name: string, bytes: Buffer | string): void {
  const file = join(servers.mailRoot, user, "Maildir", "new", `${Date.now()}.${name}.e2e`);
  writeFileSync(file, bytes);
  const id = (flag: string): number => Number(execFileSync("id", [flag, "vmail"]).toString().trim());
  chownSync(file, id("-u"), id("-g"));
}

/** Empties `user`'s Maildir: for a user whose mailbox belongs to one test file alone. */
export function emptyMaildir(servers: MailServers, user: string): void {
  for (const sub of ["new", "cur", "tmp"]) {
    const dir = join(servers.mailRoot, user, "Maildir", sub);
    for (const f of readdirSync(dir)) rmSync(join(dir, f));
  }
}
