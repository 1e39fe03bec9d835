/**
 * @module Where a sync or test failure is alerted (API.md "Alerts", REFERENCE.md): a failure of
 * the profile's server (unreachable, bad certificate, TLS, the profile's own credentials refused)
 * is the profile's problem. It raises one alert on the profile, for the profile's owner, folded
 * across all its mailboxes, and one on each affected mailbox (folded per mailbox, its count
 * growing) telling that mailbox's owner that the profile owner has been told. Any other failure
 * is the mailbox's alone. The caller says what happens next (`what`).
 */
import type { AppError } from "../errors.js";
import type { AlertLevel } from "../domain/alert.js";
import type { Direction, Mailbox } from "../domain/mailbox.js";
import type { Profile } from "../domain/profile.js";
import type { Services } from "../runtime/services.js";
import { adviceFor } from "./advice.js";
import { raiseAlert } from "./alerts.js";
import { profileHoldsCredentials } from "./connectionCredentials.js";

/** Errors of the server, whoever logs in. */
const SERVER_LEVEL = new Set<string>([
  "NETWORK_UNREACHABLE", "CONNECTION_TIMEOUT", "TLS_CERTIFICATE_UNTRUSTED", "TLS_HANDSHAKE_FAILED", "TLS_REQUIRED", "PROTOCOL_ERROR",
]);
/** Errors of the login: the profile's when the profile holds the credentials of that direction. */
const LOGIN_LEVEL = new Set<string>(["AUTH_FAILED", "AUTH_MECHANISM_UNSUPPORTED", "CREDENTIALS_MISSING", "SECRET_NOT_FOUND", "DELEGATION_UNSUPPORTED"]);

export function isProfileLevel(err: AppError, profile: Profile, direction: Direction): boolean {
  return SERVER_LEVEL.has(err.code) || (LOGIN_LEVEL.has(err.code) && profileHoldsCredentials(profile, direction));
}

export interface FailureAlert {
  level: AlertLevel;
  mailbox: Mailbox;
  direction: Direction;
  err: AppError;
  /** What happens next, e.g. "Retrying at ... (attempt 2 of 10)." */
  what: string;
  /** "sync" for polls and sends, "Test & Enable" for tests: named in the message and the fold key. */
  activity: "sync" | "test";
}

export async function alertFailure(services: Services, a: FailureAlert): Promise<void> {
  const { level, mailbox: m, direction, err, what } = a;
  const profile = m.profileId ? (await services.repos.profiles.get(m.profileId).catch(() => undefined))?.doc : undefined;
  const doing = a.activity === "test" ? `Test & Enable of ${direction}` : `${direction} sync`;
  if (!profile || !isProfileLevel(err, profile, direction)) {
    await raiseAlert(services, {
      level, code: err.code, mailboxId: m.id, profileId: m.profileId, foldKey: `${level}|${err.code}|${m.id}|${direction}|${a.activity}`,
      message: `Mailbox ${m.emailAddress}: ${doing} failed (${err.message}). ${what} ${adviceFor(err.code)}`,
    });
    return;
  }
  const server = direction === "incoming" ? profile.incoming : profile.outgoing;
  const cause = SERVER_LEVEL.has(err.code) ? `the ${direction} server ${server.host}:${server.port} failed` : `the profile's ${direction} credentials were refused`;
  await raiseAlert(services, {
    level, code: err.code, mailboxId: null, profileId: profile.id, owner: profile.owner ?? null,
    foldKey: `${level}|${err.code}|profile:${profile.id}|${direction}|${a.activity}`,
    message: `Profile "${profile.name}": ${cause} (${err.message}), last for mailbox ${m.emailAddress}. ${what} ${adviceFor(err.code)}`,
  });
  await raiseAlert(services, {
    level, code: err.code, mailboxId: m.id, profileId: profile.id,
    foldKey: `${level}|${err.code}|${m.id}|${direction}|${a.activity}`,
    message: `Mailbox ${m.emailAddress}: ${doing} failed because ${cause} of profile "${profile.name}" (${err.message}). ${what} The profile's owner has been alerted; the mailbox owner need not act.`,
  });
}
