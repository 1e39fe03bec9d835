/**
 * @module Connection options of the POP3 client and their defaults.
 */
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_GREETING_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_MESSAGE_BYTES,
} from "./limits.js";

/**
 * How to log in. `auto` picks, in order:
 *  - on a TLS channel: SASL PLAIN if advertised, else USER/PASS if advertised (or CAPA is not
 *    implemented, RFC 2449 §5), else APOP when the greeting has a timestamp;
 *  - on a clear channel (only with allowCredentialsOverInsecureChannels): APOP first, because it
 *    never puts the password itself on the wire (RFC 1939 §7), then SASL PLAIN, then USER/PASS.
 * APOP is last under TLS because it needs MD5 and a server-side plaintext password, and many
 * servers that print a timestamp do not accept APOP for every account.
 */
export type Pop3AuthProtocol = "auto" | "user" | "apop" | "saslPlain";

export interface Pop3ConnectOptions {
  host: string;
  port: number;
  /** Implicit TLS from the first byte (port 995). When false, STLS is used whenever offered. */
  useSsl: boolean;
  authProtocol?: Pop3AuthProtocol;
  userName: string;
  password: string;
  /** Skip certificate verification (chain, expiry and host name). */
  allowUntrustedCertificates?: boolean;
  /** Extra trusted CA certificates (PEM), e.g. a test CA. */
  ca?: string | Buffer | (string | Buffer)[];
  /** Else credentials are never sent without TLS: login fails with TLS_REQUIRED first. */
  allowCredentialsOverInsecureChannels?: boolean;
  connectTimeoutMs?: number;
  greetingTimeoutMs?: number;
  idleTimeoutMs?: number;
  /** A RETR body larger than this ends the connection with PROTOCOL_LIMIT_EXCEEDED. */
  maxMessageBytes?: number;
}

export type ResolvedPop3Options = Required<Omit<Pop3ConnectOptions, "ca">> & Pick<Pop3ConnectOptions, "ca">;

export function resolveOptions(o: Pop3ConnectOptions): ResolvedPop3Options {
  return {
    ...o,
    authProtocol: o.authProtocol ?? "auto",
    allowUntrustedCertificates: o.allowUntrustedCertificates ?? false,
    allowCredentialsOverInsecureChannels: o.allowCredentialsOverInsecureChannels ?? false,
    connectTimeoutMs: o.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    greetingTimeoutMs: o.greetingTimeoutMs ?? DEFAULT_GREETING_TIMEOUT_MS,
    idleTimeoutMs: o.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    maxMessageBytes: o.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
  };
}
