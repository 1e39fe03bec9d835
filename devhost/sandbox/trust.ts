/**
 * @module How the app comes to trust the sandbox's certificate in the dev host only: the way an
 * admin trusts a private CA, NODE_EXTRA_CA_CERTS, which Node reads once at start-up. So when the
 * sandbox is on and this process was not started with it, `npm start` starts itself again with it
 * set (the sandbox CA, plus any bundle already named there) and waits for that child. Nothing is
 * changed in the profile (allowUntrustedCertificates stays false) or in the app's TLS code, and
 * nothing outside this dev host process tree trusts the CA.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Set in the child: the CA path it was started to trust, so it does not start itself again. */
export const TRUSTED_CA_MARKER = "EMAIL_SYNC_SANDBOX_CA";

export function trustsSandboxCa(env: Record<string, string | undefined>, caPath: string): boolean {
  return env[TRUSTED_CA_MARKER] === caPath;
}

/** The environment of the child: NODE_EXTRA_CA_CERTS names the sandbox CA (with the caller's own bundle, if any). */
export function trustedEnv(env: Record<string, string | undefined>, caPath: string, dataDir: string): Record<string, string | undefined> {
  const own = env.NODE_EXTRA_CA_CERTS;
  let bundle = caPath;
  if (own && own !== caPath && existsSync(own)) {
    bundle = join(dataDir, "trust-bundle.pem");
    writeFileSync(bundle, `${readFileSync(own, "utf8").trimEnd()}\n${readFileSync(caPath, "utf8")}`);
  }
  return { ...env, NODE_EXTRA_CA_CERTS: bundle, [TRUSTED_CA_MARKER]: caPath };
}

/**
 * Runs this same script again with `env` and resolves with its exit code. The child has its own
 * process group, so a Ctrl+C reaches it once, forwarded from here, not twice (terminal and us).
 */
export function relaunch(env: Record<string, string | undefined>): Promise<number> {
  // On Windows `detached` would open a new console window instead; there Ctrl+C reaches both anyway.
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: "inherit", env, detached: process.platform !== "win32" });
  const forward = (signal: NodeJS.Signals): void => {
    if (child.exitCode === null) child.kill(signal);
  };
  const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  for (const s of signals) process.on(s, forward);
  return new Promise((resolve) => {
    child.once("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    child.once("error", (err) => {
      console.error(`Could not start the dev host with the sandbox CA trusted: ${err.message}`);
      resolve(1);
    });
  });
}
