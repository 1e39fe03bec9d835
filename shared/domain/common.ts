/**
 * @module Building blocks shared by the request schemas. Every request body starts as `unknown`
 * and becomes typed only through these zod schemas, which also generate the OpenAPI document.
 */
import { z } from "zod";

/** No CR/LF anywhere: these values end up in protocol lines and headers. */
export const noLineBreaks = (s: string): boolean => !/[\r\n]/.test(s);

export const emailAddress = z
  .string()
  .trim()
  .max(320)
  .refine(noLineBreaks, "must not contain line breaks")
  .pipe(z.email({ message: "must be a valid email address" }))
  .transform((s) => s.toLowerCase());

export const hostName = z
  .string()
  .trim()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$|^\[?[0-9A-Fa-f:.]+\]?$/, "must be a host name or IP address");

export const port = z.number().int().min(1).max(65535);

export const isoTimestamp = z.iso.datetime({ offset: true, message: "must be an ISO 8601 timestamp" });

/** Write-only credentials: the password is accepted, stored as a secret, and never returned. */
export const credentialsInput = z.strictObject({
  userName: z.string().trim().min(1).max(256).refine(noLineBreaks, "must not contain line breaks"),
  password: z.string().min(1).max(1024).refine(noLineBreaks, "must not contain line breaks").optional(),
});
export type CredentialsInput = z.infer<typeof credentialsInput>;

/** What a response shows instead of a password. */
export const credentialsView = z.object({ userName: z.string(), hasPassword: z.boolean() });

export const errorSummary = z.object({
  code: z.string(),
  message: z.string(),
  transient: z.boolean(),
});

export const listQuery = z.strictObject({
  top: z.coerce.number().int().min(1).max(1000).default(100),
  continuationToken: z.string().min(1).max(4096).optional(),
});

export const entityMeta = {
  id: z.string(),
  etag: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
};

export const listOf = <T extends z.ZodType>(item: T): z.ZodObject<{ items: z.ZodArray<T>; continuationToken: z.ZodNullable<z.ZodString> }> =>
  z.object({ items: z.array(item), continuationToken: z.string().nullable() });
