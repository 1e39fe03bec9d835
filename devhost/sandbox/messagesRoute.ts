/**
 * @module `POST /api/sandbox/messages` (dev host with the sandbox on only, admin key): puts a raw
 * RFC 5322 message into a sandbox maildrop (or the catch-all), so anyone can try an odd or hostile
 * message by hand. Defined with the app's own defineRoute, so key checks, body limits, JSON and
 * validation errors are exactly those of every other route; it is added to the dev host's list at
 * start and never to functions/definitions.ts, so Azure never serves it.
 */
import { z } from "zod";
import { AppError } from "../../shared/errors.js";
import { json } from "../../shared/http/responses.js";
import { defineRoute } from "../../shared/http/route.js";
import type { HttpFunctionDefinition } from "../../shared/runtime/functionDefinitions.js";
import { SANDBOX_LIMITS, type MailStore } from "./mailStore.js";

/** Base64 of the largest message the store takes (4 characters per 3 bytes, padded). */
const MAX_BASE64_CHARS = Math.ceil(SANDBOX_LIMITS.messageBytes / 3) * 4;

export const sandboxMessageCreate = z.strictObject({
  to: z.email().max(254),
  rawBase64: z.string().min(1).max(MAX_BASE64_CHARS, `must encode at most ${SANDBOX_LIMITS.messageBytes} bytes`)
    .regex(/^[A-Za-z0-9+/]*={0,2}$/, "must be base64 (RFC 4648 §4, no line breaks)")
    .refine((s) => s.length % 4 === 0, "must be padded base64 (a multiple of 4 characters)"),
});

export const sandboxMessageView = z.object({
  maildrop: z.string(), uid: z.string(), sizeBytes: z.number(),
});

export function sandboxMessagesRoute(store: MailStore): HttpFunctionDefinition {
  return defineRoute({
    name: "sandboxMessagesCreate", method: "POST", route: "sandbox/messages", role: "admin",
    summary: "Dev host sandbox only: put a raw message into a sandbox maildrop (any other address: the catch-all)",
    body: sandboxMessageCreate,
    success: { status: 201, schema: sandboxMessageView },
    errors: [{ status: 409, description: "CONFLICT: the maildrop is full" }],
    handle: ({ body }) => {
      const result = store.deliver(body.to, Buffer.from(body.rawBase64, "base64"));
      if (!result.ok) {
        return Promise.reject(new AppError(result.error.code === "MAILDROP_FULL" ? "CONFLICT" : "PAYLOAD_TOO_LARGE", result.error.message));
      }
      const size = store.list(result.maildrop).find((m) => m.uid === result.uid)?.bytes.length ?? 0;
      return Promise.resolve(json(201, { maildrop: result.maildrop, uid: result.uid, sizeBytes: size }));
    },
  });
}
