/**
 * @module The Node socket and TLS error codes both mail clients classify (POP3 and SMTP alike):
 * one list, so the two directions can never disagree about what "unreachable" or "untrusted" is.
 */

/** The server cannot be reached at all: DNS, routing, nothing listening. */
export const UNREACHABLE_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "EAI_FAIL",
  "EADDRNOTAVAIL", "ENETDOWN", "EHOSTDOWN",
]);

/** OpenSSL verification results as Node reports them, plus Node's own host name check. */
export const UNTRUSTED_CERTIFICATE_CODES: ReadonlySet<string> = new Set([
  "CERT_HAS_EXPIRED", "CERT_NOT_YET_VALID", "CERT_REVOKED", "CERT_UNTRUSTED", "CERT_REJECTED",
  "CERT_SIGNATURE_FAILURE", "CERT_CHAIN_TOO_LONG", "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN", "UNABLE_TO_GET_ISSUER_CERT", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "UNABLE_TO_DECRYPT_CERT_SIGNATURE", "INVALID_CA",
  "INVALID_PURPOSE", "PATH_LENGTH_EXCEEDED", "HOSTNAME_MISMATCH", "ERR_TLS_CERT_ALTNAME_INVALID",
]);
