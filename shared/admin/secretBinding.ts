/**
 * @module A stored secret goes only where it was entered for (docs/decisions/0014). Each secret's
 * *sends* are the places the current configuration would send it (or a token obtained with it):
 * endpoint, port, TLS mode and trust, auth protocol, the insecure-channel flag, the login
 * name and the incoming delegation (whose maildrops it opens); the token URL and client id for an
 * OAuth client secret. A change is a re-point when a secret that is kept (not re-entered, not
 * removed) would be sent somewhere it would not have been sent before: its sends after the change
 * are not a subset of its sends before.
 */
import type { Direction, Mailbox } from "../domain/mailbox.js";
import { usedDelegation, type Profile } from "../domain/profile.js";
import { AppError, type ErrorDetail } from "../errors.js";

/** Whose password a direction logs in with; `token` for XOAUTH2 (the OAuth client's secret). */
type Source = "profile" | "outgoing" | "mailbox" | "token";

function sourceOf(p: Profile, d: Direction): Source {
  if ((d === "incoming" ? p.incoming.authProtocol : p.outgoing.authProtocol) === "xoauth2") return "token";
  // Mirrors storedCredentialsFor (shared/sync/connectionCredentials.ts).
  if (d === "outgoing" && !p.useSameSettingsForOutgoing && p.outgoingCredentials) return "outgoing";
  return p.authenticateUsing === "profileCredentials" ? "profile" : "mailbox";
}

/**
 * Incoming includes the delegation mode and separator: they decide whose maildrops the password
 * opens (the account's own, or every mailbox's), so changing them is a change of target.
 */
function endpoint(p: Profile, d: Direction): string {
  const e = d === "incoming" ? p.incoming : p.outgoing;
  const delegation = d === "incoming" ? Object.values(usedDelegation(p)) : [];
  return JSON.stringify([d, e.host.toLowerCase(), e.port, e.useSsl, e.authProtocol, p.allowCredentialsOverInsecureChannels, p.allowUntrustedCertificates, ...delegation]);
}

const DIRECTIONS: Direction[] = ["incoming", "outgoing"];

/** Where a password of `source` goes under `p`, logging in as `userName`. */
function passwordSends(p: Profile | null, source: Source, userName: string | undefined): string[] {
  if (!p) return [];
  return DIRECTIONS.filter((d) => sourceOf(p, d) === source).map((d) => `${endpoint(p, d)}|${userName ?? ""}`);
}

function oauthSends(p: Profile): string[] {
  const uses = DIRECTIONS.filter((d) => sourceOf(p, d) === "token");
  if (uses.length === 0 || !p.oauth) return [];
  return [JSON.stringify(["token", p.oauth.tokenUrl, p.oauth.clientId]), ...uses.map((d) => endpoint(p, d))];
}

const isSubset = (after: string[], before: string[]): boolean => after.every((s) => before.includes(s));

/** A secret kept across the change whose sends grow: it would reach a target it was not entered for. */
function repointed(kept: boolean, before: string[], after: string[]): boolean {
  return kept && !isSubset(after, before);
}

/** The profile's own secrets that `next` would send elsewhere; `kept` says which were neither re-entered nor removed. */
export function profileSecretsRepointed(
  current: Profile, next: Profile, kept: { credentials: boolean; outgoingCredentials: boolean; oauth: boolean },
): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  const why = "would be sent to a server, account or security setting it was not entered for; enter it again in this request";
  if (repointed(kept.credentials, passwordSends(current, "profile", current.credentials?.userName), passwordSends(next, "profile", next.credentials?.userName))) {
    out.push({ path: "credentials.password", message: why });
  }
  if (repointed(kept.outgoingCredentials,
    passwordSends(current, "outgoing", current.outgoingCredentials?.userName), passwordSends(next, "outgoing", next.outgoingCredentials?.userName))) {
    out.push({ path: "outgoingCredentials.password", message: why });
  }
  if (repointed(kept.oauth, oauthSends(current), oauthSends(next))) out.push({ path: "oauth.clientSecret", message: why });
  return out;
}

/** Whether a profile change re-points every stored mailbox password of the profile (the user name is each mailbox's, unchanged). */
export function mailboxPasswordsRepointed(current: Profile, next: Profile): boolean {
  return !isSubset(passwordSends(next, "mailbox", ""), passwordSends(current, "mailbox", ""));
}

/** Whether a mailbox change (user name, profile) sends its kept password elsewhere. */
export function mailboxPasswordRepointed(current: Mailbox, next: Mailbox, before: Profile | null, after: Profile | null): boolean {
  const kept = current.credentials?.secretName != null && next.credentials?.secretName === current.credentials.secretName;
  return repointed(kept, passwordSends(before, "mailbox", current.credentials?.userName), passwordSends(after, "mailbox", next.credentials?.userName));
}

export function secretReentryRequired(details: ErrorDetail[]): AppError {
  return new AppError(
    "SECRET_REENTRY_REQUIRED",
    "This change would send stored secrets to another server, account or security setting. Enter them again in the same request, or ask an approver (the change is then a server migration).",
    { details },
  );
}
