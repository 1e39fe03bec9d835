/**
 * @module Which credentials a connection uses: the mailbox's or the profile's (authenticateUsing),
 * and for outgoing the profile's separate outgoing credentials when it does not use the same
 * settings for both directions. Passwords come from the secret store only at connect time.
 */
import { AppError, isAppError } from "../errors.js";
import type { Direction, Mailbox } from "../domain/mailbox.js";
import type { Profile, StoredCredentials } from "../domain/profile.js";
import type { Services } from "../runtime/services.js";
import type { Pop3ConnectOptions } from "../pop3/index.js";

export interface LoginCredentials {
  userName: string;
  password: string;
}

export function storedCredentialsFor(profile: Profile, mailbox: Mailbox, direction: Direction): StoredCredentials | null {
  if (direction === "outgoing" && !profile.useSameSettingsForOutgoing && profile.outgoingCredentials) return profile.outgoingCredentials;
  return profile.authenticateUsing === "profileCredentials" ? profile.credentials : mailbox.credentials;
}

export async function credentialsFor(services: Services, profile: Profile, mailbox: Mailbox, direction: Direction): Promise<LoginCredentials> {
  const stored = storedCredentialsFor(profile, mailbox, direction);
  const owner = profile.authenticateUsing === "profileCredentials" ? `profile "${profile.name}"` : `mailbox ${mailbox.emailAddress}`;
  if (!stored?.secretName) throw new AppError("CREDENTIALS_MISSING", `No ${direction} password is set for ${owner}.`);
  try {
    return { userName: stored.userName, password: await services.secrets.get(stored.secretName) };
  } catch (err) {
    if (isAppError(err)) throw err;
    throw new AppError("SECRET_STORE_UNAVAILABLE", "The secret store could not be read.", { cause: err });
  }
}

/** The POP3 connection a profile describes, logged in as `creds` (the twin of smtpEndpointOf). */
export function pop3OptionsOf(profile: Profile, creds: LoginCredentials): Pop3ConnectOptions {
  return {
    host: profile.incoming.host, port: profile.incoming.port, useSsl: profile.incoming.useSsl,
    authProtocol: profile.incoming.authProtocol, userName: creds.userName, password: creds.password,
    allowUntrustedCertificates: profile.allowUntrustedCertificates,
    allowCredentialsOverInsecureChannels: profile.allowCredentialsOverInsecureChannels,
  };
}
