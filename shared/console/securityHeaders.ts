/**
 * @module The headers every console response carries. Every string the console shows may come
 * from an outside sender, so the page may run only its own bundle: no inline script or style, no
 * eval, no plugins, no third-party origin at all (nothing is loaded from a CDN), and it cannot be
 * framed. Emails' HTML bodies are shown in a `sandbox=""` srcdoc frame, which inherits this policy:
 * no script runs there either, and remote images (tracking pixels) do not load.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "frame-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

/** The response with the console's security headers added (its own headers win on a clash). */
export function withSecurityHeaders<R extends { headers?: unknown }>(response: R): R {
  return { ...response, headers: { ...SECURITY_HEADERS, ...(response.headers as Record<string, string> | undefined) } };
}
