/**
 * @module Connection options of the POP3 client and their defaults. Options that cannot work
 * (xoauth2 without a token) are refused here, before a socket is even opened.
 */
import { AppError } from "../errors.js";
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_GREETING_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_REPLY_DEADLINE_MS,
  DEFAULT_SESSION_DEADLINE_MS,
} from "./limits.js";

/**
 * How to log in. `auto` picks, in order:
 *  - on a TLS channel: SASL PLAIN if advertised, else USER/PASS if advertised (or CAPA is not
 *    implemented, RFC 2449 §5), else APOP when the greeting has a timestamp;
 *  - on a clear channel (only with allowCredentialsOverInsecureChannels): APOP first, because it
 *    never puts the password itself on the wire (RFC 1939 §7), then SASL PLAIN, then USER/PASS.
 * APOP is last under TLS because it needs MD5 and a server-side plaintext password, and many
 * servers that print a timestamp do not accept APOP for every account.
 * `xoauth2` (SASL XOAUTH2 with an OAuth 2.0 access token, as Google and Microsoft 365 use) is
 * only ever used when asked for by name: `auto` never picks it, since it needs a token the caller
 * must supply, and a password account on such a server must keep logging in with its password.
 */
export type Pop3AuthProtocol = "auto" | "user" | "apop" | "saslPlain" | "xoauth2";

export interface Pop3ConnectOptions {
  host: string;
  port: number;
  /** Implicit TLS from the first byte (port 995). When false, STLS is used whenever offered. */
  useSsl: boolean;
  authProtocol?: Pop3AuthProtocol;
  userName: string;
  /** Not used by xoauth2 (may then be ""). */
  password: string;
  /**
   * Log in as `userName` on behalf of this identity: the SASL PLAIN authorization identity
   * (RFC 4616 §2). Only SASL PLAIN carries one, so it is the only mechanism used then, and a
   * server without it fails with DELEGATION_UNSUPPORTED rather than logging in as `userName` alone.
   */
  authorizationId?: string;
  /** OAuth 2.0 bearer token for authProtocol "xoauth2" (required then, ignored otherwise). */
  accessToken?: string;
  /** Skip certificate verification (chain, expiry and host name). */
  allowUntrustedCertificates?: boolean;
  /** Extra trusted CA certificates (PEM), e.g. a test CA. */
  ca?: string | Buffer | (string | Buffer)[];
  /** Else credentials are never sent without TLS: login fails with TLS_REQUIRED first. */
  allowCredentialsOverInsecureChannels?: boolean;
  connectTimeoutMs?: number;
  greetingTimeoutMs?: number;
  /** Longest silence while a reply is awaited; restarts on every byte received. */
  idleTimeoutMs?: number;
  /**
   * Overall deadline of the session, from the start of connect (DEFAULT_SESSION_DEADLINE_MS).
   * When it passes, every pending command and any body in flight fail with CONNECTION_TIMEOUT and
   * the socket is destroyed, whatever the server is still sending.
   */
  deadlineMs?: number;
  /** Longest one reply other than a message body may take as a whole (DEFAULT_REPLY_DEADLINE_MS). */
  replyDeadlineMs?: number;
  /** A RETR body larger than this ends the connection with PROTOCOL_LIMIT_EXCEEDED. */
  maxMessageBytes?: number;
}

type OptionalOptions = "ca" | "accessToken" | "authorizationId";
export type ResolvedPop3Options = Required<Omit<Pop3ConnectOptions, OptionalOptions>> & Pick<Pop3ConnectOptions, OptionalOptions>;

/** The token xoauth2 logs in with; CREDENTIALS_MISSING when there is none to send. */
export function requireAccessToken(o: Pick<Pop3ConnectOptions, "accessToken">): string {
  if (o.accessToken === undefined || o.accessToken === "") {
    throw new AppError("CREDENTIALS_MISSING", "POP3 login with XOAUTH2 needs an OAuth 2.0 access token, and none was given.");
  }
  return o.accessToken;
}

export function resolveOptions(o: Pop3ConnectOptions): ResolvedPop3Options {
  if (o.authProtocol === "xoauth2") requireAccessToken(o);
  if (o.authorizationId !== undefined && o.authProtocol !== undefined && o.authProtocol !== "auto" && o.authProtocol !== "saslPlain") {
    throw new AppError("DELEGATION_UNSUPPORTED", `Logging in on behalf of a mailbox needs SASL PLAIN; the profile asks for ${o.authProtocol}.`);
  }
  return {
    ...o,
    authProtocol: o.authProtocol ?? "auto",
    allowUntrustedCertificates: o.allowUntrustedCertificates ?? false,
    allowCredentialsOverInsecureChannels: o.allowCredentialsOverInsecureChannels ?? false,
    connectTimeoutMs: o.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    greetingTimeoutMs: o.greetingTimeoutMs ?? DEFAULT_GREETING_TIMEOUT_MS,
    idleTimeoutMs: o.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    deadlineMs: o.deadlineMs ?? DEFAULT_SESSION_DEADLINE_MS,
    replyDeadlineMs: o.replyDeadlineMs ?? DEFAULT_REPLY_DEADLINE_MS,
    maxMessageBytes: o.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
  };
}
