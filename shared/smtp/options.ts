/**
 * @module How one profile's SMTP endpoint becomes nodemailer connection options: implicit TLS
 * (RFC 8314), STARTTLS (RFC 3207) required before AUTH unless the profile allows credentials over
 * an insecure channel, the AUTH mechanism (RFC 4954), certificate checks, named timeouts and the
 * session's overall deadline.
 */
import type { SMTPConnectionAuth, SMTPConnectionOptions } from "nodemailer/lib/smtp-connection";
import type { Profile } from "../domain/profile.js";

export type SmtpAuthProtocol = "auto" | "plain" | "login" | "xoauth2";

export interface SmtpEndpoint {
  host: string;
  port: number;
  /** Implicit TLS from the first byte (465). When false, STARTTLS is used whenever offered. */
  useSsl: boolean;
  authProtocol: SmtpAuthProtocol;
  /** Skip certificate verification (chain, expiry and host name). */
  allowUntrustedCertificates: boolean;
  /** Else AUTH is never sent before STARTTLS: the session fails with TLS_REQUIRED first. */
  allowCredentialsOverInsecureChannels: boolean;
}

export interface SmtpCredentials {
  userName: string;
  password: string;
  /** OAuth 2.0 bearer token, used instead of the password when the protocol is `xoauth2`. */
  accessToken?: string;
}

/** Knobs the profile does not carry: a test CA, shorter timeouts in tests. */
export interface SmtpClientOptions {
  /** Extra trusted CA certificates (PEM), e.g. the e2e test CA. */
  ca?: string | Buffer | (string | Buffer)[];
  connectTimeoutMs?: number;
  greetingTimeoutMs?: number;
  /** Inactivity on an open session. Also bounds the wait for the reply to the end of data. */
  socketTimeoutMs?: number;
  /**
   * Overall deadline of the session, from the start of connect to its last reply (default
   * SMTP_TIMEOUTS.sessionMs). nodemailer's timeouts above restart on every byte, so only this
   * ends a server that drip-feeds its replies. When it passes the connection is closed and what
   * is in flight fails with CONNECTION_TIMEOUT, or SEND_OUTCOME_UNKNOWN once the end of data is out.
   */
  deadlineMs?: number;
}

/**
 * RFC 5321 §4.5.3.2 asks clients to wait up to 10 minutes for the reply to the end of data; a
 * queue invocation may run 10 minutes in all (host.json functionTimeout), so the wait is 5
 * minutes and the mailbox lease (sendMailbox.ts) outlasts it. The whole session is bounded by
 * `sessionMs`, just under that functionTimeout, so a session that runs into it ends with a coded
 * error its caller can still record instead of being cut off by the host; callers with a tighter
 * budget (Test & Enable, a send run) pass their own deadlineMs.
 */
export const SMTP_TIMEOUTS = { connectMs: 30_000, greetingMs: 30_000, socketMs: 5 * 60_000, sessionMs: 9 * 60_000 } as const;

export function connectionOptions(endpoint: SmtpEndpoint, options: SmtpClientOptions = {}): SMTPConnectionOptions {
  return {
    host: endpoint.host,
    port: endpoint.port,
    secure: endpoint.useSsl,
    // RFC 3207 §6 and RFC 4954 §4: credentials go only over TLS unless the admin accepted the risk.
    // Without SSL nodemailer still upgrades whenever STARTTLS is offered (API.md "profiles").
    requireTLS: !endpoint.useSsl && !endpoint.allowCredentialsOverInsecureChannels,
    tls: {
      rejectUnauthorized: !endpoint.allowUntrustedCertificates,
      minVersion: "TLSv1.2",
      ...(options.ca !== undefined ? { ca: options.ca } : {}),
    },
    connectionTimeout: options.connectTimeoutMs ?? SMTP_TIMEOUTS.connectMs,
    greetingTimeout: options.greetingTimeoutMs ?? SMTP_TIMEOUTS.greetingMs,
    socketTimeout: options.socketTimeoutMs ?? SMTP_TIMEOUTS.socketMs,
    socketCloseTimeout: 1_000,
    logger: false,
  };
}

/**
 * `auto` lets nodemailer take the first of PLAIN, LOGIN, CRAM-MD5 that the server advertises.
 * `xoauth2` sends the token in the XOAUTH2 format (user=…^Aauth=Bearer …^A^A, base64); nodemailer
 * answers the server's 334 error challenge with an empty line and then asks for a token again:
 * it gets an error, not the same token, so a refused token is one failed login at the server (not
 * two towards a lockout) and ends in EAUTH (AUTH_FAILED), as a wrong password does. A new token,
 * if any, is logIn's business (shared/sync/connectionCredentials.ts).
 */
export function authFor(protocol: SmtpAuthProtocol, credentials: SmtpCredentials): SMTPConnectionAuth {
  if (protocol === "xoauth2") {
    const token = credentials.accessToken ?? "";
    const oauth2 = {
      getToken: (isRetry: boolean, done: (err: Error | null, accessToken?: string) => void): void =>
        isRetry ? done(new Error("The SMTP server refused the OAuth token.")) : done(null, token),
      buildXOAuth2Token: (accessToken: string): string =>
        Buffer.from(`user=${credentials.userName}\x01auth=Bearer ${accessToken}\x01\x01`, "utf8").toString("base64"),
    };
    return { user: credentials.userName, method: "XOAUTH2", oauth2: oauth2 as unknown as SMTPConnectionAuth["oauth2"] };
  }
  const method = protocol === "plain" ? "PLAIN" : protocol === "login" ? "LOGIN" : false;
  return { user: credentials.userName, pass: credentials.password, method };
}

export function smtpEndpointOf(profile: Profile): SmtpEndpoint {
  return {
    ...profile.outgoing,
    allowUntrustedCertificates: profile.allowUntrustedCertificates,
    allowCredentialsOverInsecureChannels: profile.allowCredentialsOverInsecureChannels,
  };
}
