/**
 * @module Where a client secret may be POSTed: an `https` token URL, always; plain `http` only to a
 * loopback address, and only when the dev-only app setting `ALLOW_INSECURE_TOKEN_URL=loopback`
 * says so (the test harness and the dev host's local settings set it; infra/ never does). The same
 * rule is checked when a profile is saved and again before every token request, so a URL stored
 * under another rule (or a setting switched off since) cannot carry a secret in clear text.
 */
import type { z } from "zod";
import { AppError } from "../errors.js";

export const INSECURE_TOKEN_URL_SETTING = "ALLOW_INSECURE_TOKEN_URL";
/** The only value the setting takes: http to this machine's own loopback interface. */
export type InsecureTokenUrlPolicy = "loopback" | "none";

/** The setting as it stands now (read per call: tests and the dev host set it after start-up). */
export function insecureTokenUrlPolicy(env: Record<string, string | undefined> = process.env): InsecureTokenUrlPolicy {
  return env[INSECURE_TOKEN_URL_SETTING]?.trim().toLowerCase() === "loopback" ? "loopback" : "none";
}

/** 127.0.0.0/8, ::1 and localhost: traffic that never leaves the machine. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase();
  return h === "localhost" || h === "[::1]" || /^127(\.\d{1,3}){3}$/.test(h);
}

/** Why `url` may not receive a client secret, or undefined when it may. */
export function tokenUrlProblem(url: string, policy: InsecureTokenUrlPolicy = insecureTokenUrlPolicy()): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "must be an absolute https URL";
  }
  if (parsed.protocol === "https:") return undefined;
  if (parsed.protocol !== "http:") return "must be an https URL";
  if (policy === "loopback" && isLoopbackHost(parsed.hostname)) return undefined;
  return policy === "loopback"
    ? "must be an https URL (http is allowed only to a loopback address)"
    : "must be an https URL (the client secret is sent to it)";
}

/** The zod refinement for a profile's `oauth.tokenUrl`: `z.url().max(2048).superRefine(checkTokenUrl)`. */
export function checkTokenUrl(value: string, ctx: z.RefinementCtx<string>): void {
  const problem = tokenUrlProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
}

/** Throws before a token request that would send the secret somewhere the policy forbids. */
export function assertTokenUrlAllowed(url: string, policy: InsecureTokenUrlPolicy = insecureTokenUrlPolicy()): void {
  const problem = tokenUrlProblem(url, policy);
  if (problem === undefined) return;
  let endpoint = "(unparsable URL)";
  try {
    endpoint = new URL(url).host;
  } catch { /* keeps the placeholder */ }
  throw new AppError("TLS_REQUIRED", `The OAuth token URL of the profile (${endpoint}) ${problem}: the client secret was not sent. Set oauth.tokenUrl to the https endpoint.`);
}
