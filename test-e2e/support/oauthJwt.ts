/**
 * Bearer tokens the e2e Dovecot accepts: JWTs (RFC 7519) signed with HS256 by the key
 * scripts/e2e/setup.sh generated, which Dovecot's oauth2 passdb validates locally
 * (introspection_mode = local): the signature with the key it finds under the token's azp, the
 * iss, the scope, exp/iat, and the email claim against the login name.
 */
import { createHmac } from "node:crypto";
import type { OAuthIssuer } from "./mailServers.js";

const part = (json: unknown): string => Buffer.from(JSON.stringify(json), "utf8").toString("base64url");

/** A token for `address`; `claims` override the standard ones, `key` another signing key (a refused token). */
export function signedToken(issuer: OAuthIssuer, address: string, opts: { lifetimeS?: number; claims?: Record<string, unknown>; key?: Buffer } = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const header = part({ alg: "HS256", typ: "JWT" });
  const body = part({
    iss: issuer.issuer, azp: issuer.clientId, sub: address, email: address, scope: issuer.scope,
    iat: now, nbf: now, exp: now + (opts.lifetimeS ?? 3600), ...opts.claims,
  });
  const signature = createHmac("sha256", opts.key ?? issuer.key).update(`${header}.${body}`).digest("base64url");
  return `${header}.${body}.${signature}`;
}
