/**
 * @module Chooses the login mechanism and logs in. The TLS rule comes first: without TLS (and
 * without allowCredentialsOverInsecureChannels) nothing derived from the password is sent,
 * not even an APOP digest, which can be brute-forced offline, nor an OAuth access token.
 */
import { AppError } from "../errors.js";
import type { Pop3Capabilities } from "./commands/capa.js";
import { apop, apopTimestamp } from "./commands/apop.js";
import { authPlain } from "./commands/auth-plain.js";
import { authXoauth2 } from "./commands/auth-xoauth2.js";
import { userPass } from "./commands/user-pass.js";
import type { Pop3Connection } from "./connection.js";
import { requireAccessToken, type Pop3AuthProtocol, type ResolvedPop3Options } from "./options.js";

export type Pop3AuthMechanism = "user" | "apop" | "saslPlain" | "xoauth2";

/** See Pop3AuthProtocol for the order `auto` follows and why. */
export function chooseMechanism(
  protocol: Pop3AuthProtocol,
  caps: Pop3Capabilities,
  greeting: string,
  secure: boolean,
): Pop3AuthMechanism {
  const offered = {
    saslPlain: caps.sasl.includes("PLAIN"),
    xoauth2: caps.sasl.includes("XOAUTH2"),
    // RFC 2449 §6.2: with CAPA, USER is listed when offered; without CAPA, RFC 1939 servers all had it.
    user: caps.user || !caps.known,
    apop: apopTimestamp(greeting) !== undefined,
  };
  // xoauth2 is in neither `auto` order: it is used only when asked for by name.
  const order: Pop3AuthMechanism[] =
    protocol !== "auto" ? [protocol] : secure ? ["saslPlain", "user", "apop"] : ["apop", "saslPlain", "user"];
  // A mechanism asked for by name is tried when it may exist: USER always (many servers omit it
  // from CAPA), SASL mechanisms when CAPA is unknown. APOP cannot be tried without a timestamp.
  const sasl = (m: Pop3AuthMechanism): boolean => m === "saslPlain" || m === "xoauth2";
  const mayTry = (m: Pop3AuthMechanism): boolean => offered[m] || (protocol === m && (m === "user" || (sasl(m) && !caps.known)));
  const chosen = order.find(mayTry);
  if (chosen === undefined) {
    throw new AppError("AUTH_MECHANISM_UNSUPPORTED", unsupportedMessage(protocol, caps));
  }
  return chosen;
}

function unsupportedMessage(protocol: Pop3AuthProtocol, caps: Pop3Capabilities): string {
  if (protocol === "auto") return "The POP3 server offers no login mechanism this client supports (SASL PLAIN, USER, APOP).";
  if (protocol === "xoauth2") {
    const listed = caps.sasl.length > 0 ? caps.sasl.join(" ") : "none";
    return `The POP3 server does not offer SASL XOAUTH2 (its CAPA lists SASL: ${listed}), so it cannot log in with an OAuth 2.0 access token.`;
  }
  return `The POP3 server does not offer the configured login mechanism (${protocol}).`;
}

/**
 * With an authorization identity only SASL PLAIN will do (RFC 4616 §2): falling back to USER/PASS
 * would log in as the profile's account itself and read its maildrop, not the mailbox's.
 * Tried when CAPA is unknown (RFC 2449 §5: old servers list nothing), as `saslPlain` by name is.
 */
function delegatedMechanism(o: ResolvedPop3Options, caps: Pop3Capabilities): "saslPlain" {
  if (caps.sasl.includes("PLAIN") || !caps.known) return "saslPlain";
  const listed = caps.sasl.length > 0 ? caps.sasl.join(" ") : "none";
  throw new AppError(
    "DELEGATION_UNSUPPORTED",
    `The POP3 server does not offer SASL PLAIN (its CAPA lists SASL: ${listed}), so the profile's account cannot log in on behalf of ${o.authorizationId ?? "the mailbox"} (delegation saslAuthzid). Use delegation loginSeparator if the server supports master-user logins, or mailbox credentials.`,
  );
}

export async function authenticate(
  conn: Pop3Connection,
  o: ResolvedPop3Options,
  caps: Pop3Capabilities,
  greeting: string,
): Promise<Pop3AuthMechanism> {
  if (!conn.secure && !o.allowCredentialsOverInsecureChannels) {
    throw new AppError(
      "TLS_REQUIRED",
      "The POP3 server offers no TLS (neither implicit TLS nor STLS), and sending credentials in clear is not allowed for this profile.",
    );
  }
  const mechanism = o.authorizationId === undefined ? chooseMechanism(o.authProtocol, caps, greeting, conn.secure) : delegatedMechanism(o, caps);
  switch (mechanism) {
    case "saslPlain":
      await authPlain(conn, o.userName, o.password, o.authorizationId ?? "");
      break;
    case "xoauth2":
      await authXoauth2(conn, o.userName, requireAccessToken(o));
      break;
    case "apop":
      await apop(conn, apopTimestamp(greeting) ?? "", o.userName, o.password);
      break;
    default:
      await userPass(conn, o.userName, o.password);
  }
  return mechanism;
}
