/**
 * @module The embedded mail sandbox: one mail store, its SMTP and POP3 listeners on loopback, the
 * demo users, and the certificate they present. Started by the dev host only (startup.ts), never
 * registered as a function and never part of the deployment package's code path.
 */
import { ensureCertificate } from "./certificate.js";
import type { SandboxConfig } from "./config.js";
import { SANDBOX_HOST } from "./listen.js";
import { MailStore, type SandboxUser } from "./mailStore.js";
import { startPop3Listener } from "./pop3Server.js";
import { startSmtpListener } from "./smtpServer.js";

export const SANDBOX_DOMAIN = "sandbox.test";

/** Demo users; fixed passwords, since the listeners take connections from this machine only. */
export const SANDBOX_USERS = {
  alice: { address: `alice@${SANDBOX_DOMAIN}`, password: "alice-sandbox-password" },
  bob: { address: `bob@${SANDBOX_DOMAIN}`, password: "bob-sandbox-password" },
  support: { address: `support@${SANDBOX_DOMAIN}`, password: "support-sandbox-password" },
} as const satisfies Record<string, SandboxUser>;

export const CATCH_ALL_PASSWORD = "catch-all-sandbox-password";

export interface Sandbox {
  host: string;
  smtpPort: number;
  pop3Port: number;
  /** PEM of the CA that signed the listeners' certificate, and where it is on disk. */
  ca: string;
  caPath: string;
  store: MailStore;
  stop(): Promise<void>;
}

export async function startSandbox(config: SandboxConfig): Promise<Sandbox> {
  const cert = await ensureCertificate(config.dataDir);
  const store = new MailStore(Object.values(SANDBOX_USERS), CATCH_ALL_PASSWORD);
  const tlsOptions = { cert: cert.cert, key: cert.key };
  const smtp = await startSmtpListener(store, tlsOptions, config.smtpPort);
  let pop3;
  try {
    pop3 = await startPop3Listener(store, tlsOptions, config.pop3Port);
  } catch (err) {
    await smtp.close();
    throw err;
  }
  const listeners = [smtp, pop3];
  return {
    host: SANDBOX_HOST,
    smtpPort: smtp.port,
    pop3Port: pop3.port,
    ca: cert.ca,
    caPath: cert.caPath,
    store,
    stop: async () => { await Promise.all(listeners.map((l) => l.close())); },
  };
}
