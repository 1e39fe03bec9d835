/**
 * @module OAuth 2.0 access tokens for XOAUTH2 logins (POP3 and SMTP), by the client credentials
 * grant (RFC 6749 §4.4) against the profile's token endpoint: what Microsoft 365 asks of an app
 * that reads mailboxes over POP3 and sends over SMTP now that basic authentication is retired.
 *
 * One token serves every mailbox of a profile, so tokens are cached per client until shortly
 * before they expire, and concurrent requests for the same client share one call: a scheduler
 * tick over thousands of mailboxes costs one token request, not thousands.
 * The client secret and the tokens never appear in errors or logs.
 */
import { createHash } from "node:crypto";
import { AppError } from "../errors.js";
import type { Clock } from "../runtime/clock.js";

export interface OAuthClient {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope: string;
}

interface CachedToken {
  accessToken: string;
  obtainedAt: number;
  /** Epoch ms after which the token is not handed out any more. */
  usableUntil: number;
}

/** A token is not handed out in its last minute: a login that starts must not outlive it. */
const EXPIRY_MARGIN_MS = 60_000;
/** When the endpoint gives no expires_in (it SHOULD, RFC 6749 §5.1), assume a short life. */
const DEFAULT_LIFETIME_S = 300;
const TIMEOUT_MS = 30_000;
/** What `fresh` means: got within this window, so a Test & Enable of a whole profile asks once a minute at most. */
const FRESH_MS = 60_000;
const MAX_DESCRIPTION = 300;

export interface TokenOptions {
  /** Got within the last minute. */
  fresh?: boolean;
  /**
   * A token a mail server refused: replaced by a new one, unless it was itself got within the last
   * minute (then a new one would fare no better, and a profile of thousands of mailboxes whose
   * server refuses every token must not cost a token request per mailbox).
   */
  rejected?: string;
}

type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export class OAuthTokenSource {
  private readonly cache = new Map<string, CachedToken>();
  private readonly inFlight = new Map<string, Promise<CachedToken>>();

  constructor(private readonly clock: Clock, private readonly fetchImpl: FetchLike = fetch) {}

  /**
   * A bearer token for `client`. `fresh` asks for one got within the last minute (Test & Enable
   * proves the client works now); `rejected` replaces a token a mail server refused.
   */
  async token(client: OAuthClient, opts: TokenOptions = {}): Promise<string> {
    const key = cacheKey(client);
    const cached = this.cache.get(key);
    const now = this.clock.now().getTime();
    const recent = cached !== undefined && cached.obtainedAt >= now - FRESH_MS;
    const usable = cached && cached.usableUntil > now && (cached.accessToken !== opts.rejected || recent);
    if (usable && (!opts.fresh || recent)) return cached.accessToken;
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.request(client).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    const got = await pending;
    this.cache.set(key, got);
    return got.accessToken;
  }

  private async request(client: OAuthClient): Promise<CachedToken> {
    const endpoint = new URL(client.tokenUrl).host;
    const body = new URLSearchParams({
      grant_type: "client_credentials", client_id: client.clientId, client_secret: client.clientSecret, scope: client.scope,
    });
    const startedAt = this.clock.now().getTime();
    let res: Response;
    try {
      res = await this.fetchImpl(client.tokenUrl, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
        body: body.toString(),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (err) {
      throw unreachable(endpoint, err);
    }
    const payload = await res.json().catch(() => undefined) as Record<string, unknown> | undefined;
    if (res.status === 400 || res.status === 401 || res.status === 403) {
      const error = typeof payload?.error === "string" ? payload.error : `HTTP ${res.status}`;
      const description = typeof payload?.error_description === "string" ? `: ${payload.error_description.slice(0, MAX_DESCRIPTION)}` : "";
      throw new AppError("AUTH_FAILED", `The OAuth token endpoint ${endpoint} refused the profile's client (${error}${description}).`);
    }
    if (!res.ok) {
      throw new AppError("SERVICE_UNAVAILABLE", `The OAuth token endpoint ${endpoint} answered HTTP ${res.status}.`);
    }
    const accessToken = payload?.access_token;
    if (typeof accessToken !== "string" || accessToken === "") {
      throw new AppError("PROTOCOL_ERROR", `The OAuth token endpoint ${endpoint} answered without an access_token.`);
    }
    const lifetimeS = typeof payload?.expires_in === "number" ? payload.expires_in : Number(payload?.expires_in ?? DEFAULT_LIFETIME_S) || DEFAULT_LIFETIME_S;
    return { accessToken, obtainedAt: startedAt, usableUntil: startedAt + lifetimeS * 1000 - EXPIRY_MARGIN_MS };
  }
}

function cacheKey(c: OAuthClient): string {
  // The secret is part of the key (a new secret must not reuse a token got with the old one), hashed.
  const secret = createHash("sha256").update(c.clientSecret).digest("hex");
  return JSON.stringify([c.tokenUrl, c.clientId, c.scope, secret]);
}

function unreachable(endpoint: string, err: unknown): AppError {
  const name = (err as { name?: string } | null)?.name;
  if (name === "TimeoutError" || name === "AbortError") {
    return new AppError("CONNECTION_TIMEOUT", `The OAuth token endpoint ${endpoint} did not answer in ${TIMEOUT_MS / 1000} s.`);
  }
  const cause = (err as { cause?: { code?: string } } | null)?.cause;
  const code = cause?.code ?? "network error";
  const tls = typeof code === "string" && /CERT|SSL|TLS|SELF_SIGNED/.test(code);
  return tls
    ? new AppError("TLS_CERTIFICATE_UNTRUSTED", `The OAuth token endpoint ${endpoint} presented a certificate that is not trusted (${code}).`)
    : new AppError("NETWORK_UNREACHABLE", `The OAuth token endpoint ${endpoint} cannot be reached (${code}).`);
}
