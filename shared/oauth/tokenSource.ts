/**
 * @module OAuth 2.0 access tokens for XOAUTH2 logins (POP3 and SMTP), by the client credentials
 * grant (RFC 6749 §4.4) against the profile's token endpoint: what Microsoft 365 asks of an app
 * that reads mailboxes over POP3 and sends over SMTP now that basic authentication is retired.
 *
 * One token serves every mailbox of a profile, so tokens are cached per client until shortly
 * before they expire, and concurrent requests for the same client share one call: a scheduler
 * tick over thousands of mailboxes costs one token request, not thousands.
 * The client secret and the tokens never appear in errors or logs.
 *
 * The request carries the client secret, so it goes to the configured URL and nowhere else, over
 * https (tokenUrlPolicy.ts): a redirect is refused (not followed), the whole request has a
 * deadline, and the response is read up to a named size, whatever the endpoint sends.
 */
import { createHash } from "node:crypto";
import { AppError, isAppError } from "../errors.js";
import type { Clock } from "../runtime/clock.js";
import { assertTokenUrlAllowed } from "./tokenUrlPolicy.js";
import { quoteServer } from "../net/quote.js";

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
/** The whole token request: connect, TLS, headers and body. Shorter than any caller's own deadline. */
export const TOKEN_REQUEST_TIMEOUT_MS = 30_000;
/** A token response is a small JSON object (an Entra access token is 1-4 KB); nothing beyond this is read. */
export const MAX_TOKEN_RESPONSE_BYTES = 64 * 1024;
/** What `fresh` means: got within this window, so a Test & Enable of a whole profile asks once a minute at most. */
const FRESH_MS = 60_000;

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

/** The request's limits; tests make them small. */
export interface TokenRequestLimits {
  timeoutMs: number;
  maxResponseBytes: number;
}

export class OAuthTokenSource {
  private readonly cache = new Map<string, CachedToken>();
  private readonly inFlight = new Map<string, Promise<CachedToken>>();
  private readonly limits: TokenRequestLimits;

  constructor(private readonly clock: Clock, private readonly fetchImpl: FetchLike = fetch, limits: Partial<TokenRequestLimits> = {}) {
    this.limits = { timeoutMs: TOKEN_REQUEST_TIMEOUT_MS, maxResponseBytes: MAX_TOKEN_RESPONSE_BYTES, ...limits };
  }

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
    // Checked again here, not only on save: https, or http to loopback when the dev-only setting allows it.
    assertTokenUrlAllowed(client.tokenUrl);
    const endpoint = new URL(client.tokenUrl).host;
    const body = new URLSearchParams({
      grant_type: "client_credentials", client_id: client.clientId, client_secret: client.clientSecret, scope: client.scope,
    });
    const startedAt = this.clock.now().getTime();
    const res = await post(this.fetchImpl, client.tokenUrl, body, this.limits);
    const { payload } = res;
    if (res.status === 400 || res.status === 401 || res.status === 403) {
      // The endpoint's own words, which could echo anything it was sent: never the secret, never
      // control characters, never at length (quoteServer). Redacted first, so a cut cannot leave
      // a recognisable part of the secret.
      const said = (v: unknown): string | undefined => (typeof v === "string" ? quoteServer(redact(v, client.clientSecret)) : undefined);
      const error = said(payload?.error) ?? `HTTP ${res.status}`;
      const description = said(payload?.error_description);
      throw new AppError("AUTH_FAILED", `The OAuth token endpoint ${endpoint} refused the profile's client (${error}${description === undefined ? "" : `: ${description}`}).`);
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

interface TokenResponse {
  status: number;
  ok: boolean;
  payload: Record<string, unknown> | undefined;
}

/** POSTs the form to `url` and nowhere else, within the limits; transport failures become AppErrors. */
async function post(fetchImpl: FetchLike, url: string, form: URLSearchParams, limits: TokenRequestLimits): Promise<TokenResponse> {
  const endpoint = new URL(url).host;
  let res: Response;
  try {
    res = await fetchImpl(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body: form.toString(),
      // Following a redirect would POST the client secret to wherever the Location points.
      redirect: "manual",
      // Also ends a body that trickles in: the signal aborts the body stream too.
      signal: AbortSignal.timeout(limits.timeoutMs),
    });
  } catch (err) {
    throw unreachable(endpoint, err, limits.timeoutMs);
  }
  if (res.type === "opaqueredirect" || (res.status >= 300 && res.status < 400)) {
    await res.body?.cancel().catch(() => undefined);
    throw new AppError("AUTH_FAILED",
      `The OAuth token endpoint ${endpoint} answered with a redirect (HTTP ${res.status}), which is not followed: the request carries the client secret. Set the profile's token URL to the endpoint itself.`);
  }
  let text: string;
  try {
    text = await readBounded(res, limits.maxResponseBytes, endpoint);
  } catch (err) {
    throw isAppError(err) ? err : unreachable(endpoint, err, limits.timeoutMs, "while sending its response");
  }
  return { status: res.status, ok: res.ok, payload: parseJson(text) };
}

function cacheKey(c: OAuthClient): string {
  // The secret is part of the key (a new secret must not reuse a token got with the old one), hashed.
  const secret = createHash("sha256").update(c.clientSecret).digest("hex");
  return JSON.stringify([c.tokenUrl, c.clientId, c.scope, secret]);
}

/**
 * The body as text, reading at most `max` bytes: a longer one (announced or not) ends the request
 * with PROTOCOL_LIMIT_EXCEEDED and the rest is never read.
 */
async function readBounded(res: Response, max: number, endpoint: string): Promise<string> {
  const tooLarge = (): AppError =>
    new AppError("PROTOCOL_LIMIT_EXCEEDED", `The OAuth token endpoint ${endpoint} sent a response larger than ${max} bytes; it was not read further.`);
  const announced = Number(res.headers.get("content-length") ?? NaN);
  if (announced > max) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (!res.body) return "";
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Removes the secret, as sent and as form-encoded, from text the endpoint chose. */
function redact(text: string, secret: string): string {
  if (secret === "") return text;
  const forms = new Set([secret, encodeURIComponent(secret), new URLSearchParams({ s: secret }).toString().slice(2)]);
  let out = text;
  for (const form of forms) out = out.split(form).join("[redacted]");
  return out;
}

function unreachable(endpoint: string, err: unknown, timeoutMs: number, when = ""): AppError {
  const name = (err as { name?: string } | null)?.name;
  if (name === "TimeoutError" || name === "AbortError") {
    const within = timeoutMs % 1000 === 0 ? `${timeoutMs / 1000} s` : `${timeoutMs} ms`;
    return new AppError("CONNECTION_TIMEOUT", `The OAuth token endpoint ${endpoint} did not answer in ${within}${when ? ` (${when})` : ""}.`);
  }
  if (when) return new AppError("CONNECTION_LOST", `The OAuth token endpoint ${endpoint} closed the connection ${when}.`);
  const cause = (err as { cause?: { code?: string } } | null)?.cause;
  const code = cause?.code ?? "network error";
  const tls = typeof code === "string" && /CERT|SSL|TLS|SELF_SIGNED/.test(code);
  return tls
    ? new AppError("TLS_CERTIFICATE_UNTRUSTED", `The OAuth token endpoint ${endpoint} presented a certificate that is not trusted (${code}).`)
    : new AppError("NETWORK_UNREACHABLE", `The OAuth token endpoint ${endpoint} cannot be reached (${code}).`);
}
