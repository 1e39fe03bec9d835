/**
 * @module How much of a request is read. A body larger than MAX_REQUEST_BODY_BYTES is refused with
 * 413 PAYLOAD_TOO_LARGE: from its Content-Length before anything else is done (no key check, no
 * Easy Auth parsing), and while it streams when no length was announced or the length lied.
 */
import type { HttpRequest } from "@azure/functions";
import { AppError } from "../errors.js";

/**
 * The largest body any route takes. The largest legitimate one is `POST /api/emails`
 * (shared/domain/email.ts `emailCreate`): `text` up to 5,000,000 and `html` up to 10,000,000
 * characters (15 MB as ASCII JSON) plus attachments as base64 (4/3 of their size). 64 MiB holds both
 * bodies at their maximum and 35 MB of attachments, the largest message Exchange Online accepts by
 * default; it stays below the Functions host's own 100 MB limit (FUNCTIONS_REQUEST_BODY_SIZE_LIMIT).
 */
export const MAX_REQUEST_BODY_BYTES = 64 * 1024 * 1024;

export function payloadTooLarge(max = MAX_REQUEST_BODY_BYTES): AppError {
  return new AppError("PAYLOAD_TOO_LARGE", `The request body is larger than ${max} bytes.`);
}

/** Whether a Content-Length header announces more than `max` bytes (an unparsable one counts as too large). */
export function declaresTooMuch(contentLength: string | null | undefined, max = MAX_REQUEST_BODY_BYTES): boolean {
  if (contentLength === null || contentLength === undefined) return false;
  const trimmed = contentLength.trim();
  return !/^\d+$/.test(trimmed) || Number(trimmed) > max;
}

/** Refuses a request whose Content-Length is over the limit, before its body is touched. */
export function checkDeclaredLength(request: HttpRequest, max = MAX_REQUEST_BODY_BYTES): void {
  if (declaresTooMuch(request.headers.get("content-length"), max)) throw payloadTooLarge(max);
}

/** The body as UTF-8 text, read chunk by chunk and abandoned as soon as it passes `max` bytes. */
export async function readBodyText(request: HttpRequest, max = MAX_REQUEST_BODY_BYTES): Promise<string> {
  checkDeclaredLength(request, max);
  const body = request.body;
  if (!body) return "";
  const reader = (body as ReadableStream<Uint8Array | string>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const chunk = typeof value === "string" ? Buffer.from(value) : value;
    size += chunk.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      throw payloadTooLarge(max);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}
