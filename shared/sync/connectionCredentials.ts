/**
 * @module Which credentials a connection uses: the mailbox's or the profile's (authenticateUsing),
 * and for outgoing the profile's separate outgoing credentials when it does not use the same
 * settings for both directions. Passwords come from the secret store only at connect time.
 * A direction that logs in with XOAUTH2 gets an access token for the profile's OAuth client instead;
 * the user name is the credentials' when set, else the mailbox address (Microsoft 365 app access).
 * With profile credentials and a delegation mode, incoming logs in as the profile's account on
 * behalf of the mailbox, so each mailbox reads its own maildrop (docs/delegation.md).
 */
import { AppError, isAppError, toAppError } from "../errors.js";
import type { Direction, Mailbox } from "../domain/mailbox.js";
import { delegationOf, type Profile, type StoredCredentials } from "../domain/profile.js";
import type { Services } from "../runtime/services.js";
import type { Pop3ConnectOptions } from "../pop3/index.js";
import type { TokenOptions } from "../oauth/tokenSource.js";

export interface LoginCredentials {
  userName: string;
  /** Empty when the direction logs in with a token. */
  password: string;
  accessToken?: string;
  /** SASL PLAIN authorization identity: the mailbox the profile's account logs in for (delegation saslAuthzid). */
  authorizationId?: string;
}

/** The profile's separate outgoing credentials, when it does not use the same settings for outgoing. */
const separateOutgoing = (profile: Profile, direction: Direction): StoredCredentials | null =>
  (direction === "outgoing" && !profile.useSameSettingsForOutgoing ? profile.outgoingCredentials : null) ?? null;

export function storedCredentialsFor(profile: Profile, mailbox: Mailbox, direction: Direction): StoredCredentials | null {
  return separateOutgoing(profile, direction) ?? (profile.authenticateUsing === "profileCredentials" ? profile.credentials : mailbox.credentials);
}

const usesOAuth = (profile: Profile, direction: Direction): boolean =>
  (direction === "incoming" ? profile.incoming.authProtocol : profile.outgoing.authProtocol) === "xoauth2";

/**
 * The direction logs in with the profile's account or OAuth client, not the mailbox's own: a
 * refused login is then the profile's problem (sync/failureAlerts.ts).
 */
export function profileHoldsCredentials(profile: Profile, direction: Direction): boolean {
  return usesOAuth(profile, direction) || separateOutgoing(profile, direction) !== null || profile.authenticateUsing === "profileCredentials";
}

/** `opts` choose the OAuth token for a direction that logs in with XOAUTH2 (see TokenOptions). */
export async function credentialsFor(
  services: Services, profile: Profile, mailbox: Mailbox, direction: Direction, opts: TokenOptions = {},
): Promise<LoginCredentials> {
  const stored = storedCredentialsFor(profile, mailbox, direction);
  if (usesOAuth(profile, direction)) {
    return { userName: stored?.userName ?? mailbox.emailAddress, password: "", accessToken: await accessTokenFor(services, profile, opts) };
  }
  const owner = profile.authenticateUsing === "profileCredentials" ? `profile "${profile.name}"` : `mailbox ${mailbox.emailAddress}`;
  if (!stored?.secretName) throw new AppError("CREDENTIALS_MISSING", `No ${direction} password is set for ${owner}.`);
  const login = direction === "incoming" ? delegatedLogin(profile, mailbox, stored.userName) : { userName: stored.userName };
  return { ...login, password: await readSecret(services, stored.secretName) };
}

/** The name the mailbox is known by on the server: its own user name when it has one, else its address. */
export const mailboxLogin = (mailbox: Mailbox): string => mailbox.credentials?.userName ?? mailbox.emailAddress;

/**
 * Who the profile's account logs in as for this mailbox (docs/delegation.md). `none` is the
 * account itself, so every mailbox of the profile reads the account's one maildrop, as before.
 * Outgoing never delegates: SMTP sends as the mailbox's address, authenticated as the account.
 */
function delegatedLogin(profile: Profile, mailbox: Mailbox, account: string): Pick<LoginCredentials, "userName" | "authorizationId"> {
  const { delegation, delegationSeparator: sep } = delegationOf(profile);
  if (profile.authenticateUsing !== "profileCredentials" || delegation === "none") return { userName: account };
  const login = mailboxLogin(mailbox);
  if (delegation === "saslAuthzid") return { userName: account, authorizationId: login };
  // The server splits the name at the separator: one inside either half would split it wrongly.
  if (login.includes(sep) || account.includes(sep)) {
    throw new AppError("DELEGATION_UNSUPPORTED",
      `The login "${login.includes(sep) ? login : account}" contains the delegation separator "${sep}", so "<mailbox>${sep}<account>" cannot be split by the server; choose another separator in the profile.`);
  }
  return { userName: `${login}${sep}${account}` };
}

async function readSecret(services: Services, name: string): Promise<string> {
  try {
    return await services.secrets.get(name);
  } catch (err) {
    if (isAppError(err)) throw err;
    throw new AppError("SECRET_STORE_UNAVAILABLE", "The secret store could not be read.", { cause: err });
  }
}

/**
 * Logs in with the direction's credentials. When the server refuses an OAuth token (revoked, or
 * issued before a permission change) while it is still cached, it tries once more with a new one:
 * one stale token must not disable every mailbox of the profile.
 */
export async function logIn<T>(
  services: Services, profile: Profile, mailbox: Mailbox, direction: Direction,
  login: (creds: LoginCredentials) => Promise<T>,
  opts: { fresh?: boolean } = {},
): Promise<T> {
  const creds = await credentialsFor(services, profile, mailbox, direction, { fresh: opts.fresh ?? false });
  try {
    return await login(creds);
  } catch (err) {
    const authFailed = toAppError(err).code === "AUTH_FAILED";
    // A refused password may have been changed in the vault by hand: read it again next time.
    const secretName = storedCredentialsFor(profile, mailbox, direction)?.secretName;
    if (authFailed && creds.password && secretName) services.secrets.forget?.(secretName);
    const refused = creds.accessToken !== undefined && authFailed;
    if (!refused) throw scrubSecrets(err, creds);
    const retry = await credentialsFor(services, profile, mailbox, direction, { rejected: creds.accessToken });
    if (retry.accessToken === creds.accessToken) throw scrubSecrets(err, creds); // got within the last minute: a new one would fare no better
    services.log.info("OAuth token refused; retrying with a new one", { mailboxId: mailbox.id, profileId: profile.id, direction });
    return login(retry).catch((e: unknown) => { throw scrubSecrets(e, retry); });
  }
}

/** The forms a secret takes on the wire: as is, and base64 inside SASL PLAIN / XOAUTH2 / LOGIN. */
function secretForms(creds: LoginCredentials): string[] {
  const forms: string[] = [];
  const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");
  if (creds.password) {
    forms.push(creds.password, b64(creds.password), b64(`${creds.authorizationId ?? ""}\0${creds.userName}\0${creds.password}`), encodeURIComponent(creds.password));
  }
  if (creds.accessToken) forms.push(creds.accessToken, b64(`user=${creds.userName}\x01auth=Bearer ${creds.accessToken}\x01\x01`));
  return forms.filter((f) => f.length >= 4).sort((a, b) => b.length - a.length);
}

/**
 * A server may quote what it was sent in its replies (an echoed PASS line, say), and replies are
 * quoted in errors, alerts and `lastError`: every form of the secret is cut out of them first.
 */
export function scrubSecrets(thrown: unknown, creds: LoginCredentials): AppError {
  const err = toAppError(thrown);
  const forms = secretForms(creds);
  const clean = (text: string | undefined): string | undefined =>
    text === undefined ? undefined : forms.reduce((t, f) => t.split(f).join("[secret]"), text);
  const message = clean(err.message) ?? "";
  const response = clean(err.response);
  if (message === err.message && response === err.response) return err;
  return new AppError(err.code, message, {
    details: err.details, transient: err.transient, ...(err.command !== undefined ? { command: err.command } : {}),
    ...(response !== undefined ? { response } : {}),
  });
}

async function accessTokenFor(services: Services, profile: Profile, opts: TokenOptions): Promise<string> {
  const oauth = profile.oauth;
  if (!oauth?.secretName) throw new AppError("CREDENTIALS_MISSING", `Profile "${profile.name}" logs in with XOAUTH2 but has no OAuth client secret.`);
  const client = { tokenUrl: oauth.tokenUrl, clientId: oauth.clientId, scope: oauth.scope, clientSecret: await readSecret(services, oauth.secretName) };
  return services.oauth.token(client, opts);
}

/** The POP3 connection a profile describes, logged in as `creds` (the twin of smtpEndpointOf). */
export function pop3OptionsOf(profile: Profile, creds: LoginCredentials): Pop3ConnectOptions {
  return {
    host: profile.incoming.host, port: profile.incoming.port, useSsl: profile.incoming.useSsl,
    authProtocol: profile.incoming.authProtocol, userName: creds.userName, password: creds.password,
    ...(creds.accessToken !== undefined ? { accessToken: creds.accessToken } : {}),
    ...(creds.authorizationId !== undefined ? { authorizationId: creds.authorizationId } : {}),
    allowUntrustedCertificates: profile.allowUntrustedCertificates,
    allowCredentialsOverInsecureChannels: profile.allowCredentialsOverInsecureChannels,
  };
}
