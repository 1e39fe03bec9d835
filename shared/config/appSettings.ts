/**
 * @module App settings (environment / local.settings.json), validated once with zod.
 * Every name here is listed in API.md "Configuration" and set by infra/ (a test keeps them in step).
 * A bad or missing setting fails start-up with one message that names each offending setting.
 */
import { z } from "zod";
import { AppError } from "../errors.js";

const base64Key32 = z
  .string()
  .refine((s) => /^[A-Za-z0-9+/]+={0,2}$/.test(s) && Buffer.from(s, "base64").length === 32, {
    message: "must be 32 bytes, base64-encoded (generate one with: node -e \"console.log(require('crypto').randomBytes(32).toString('base64'))\")",
  });

const KEY_VAULT_REFERENCE = "@Microsoft.KeyVault(";

/**
 * The characters an API key may hold: RFC 3986 "unreserved" (section 2.3), the only ones that
 * travel in `?code=KEY` without percent-encoding. A base64 key's `+` arrives as a space and `=`/`/`
 * need escaping, so the same key would work in the header and fail in the query.
 */
export const URL_SAFE_KEY = /^[A-Za-z0-9._~-]+$/;

/** How to make a key that passes: docs/deploy.md "Rotating the API keys". */
const KEY_ADVICE = "generate one with `openssl rand -hex 32`";

/**
 * An unresolved Key Vault reference arrives as its literal text; taking that as the key would
 * lock every caller out with no clue why.
 */
const apiKey = z
  .string()
  .min(8, "must be at least 8 characters")
  .refine((s) => !s.startsWith(KEY_VAULT_REFERENCE), {
    message: "is an unresolved Key Vault reference: check that the app's identity has the Key Vault Secrets User role on the secret and that keyVaultReferenceIdentity is set",
  })
  .refine((s) => s.startsWith(KEY_VAULT_REFERENCE) || URL_SAFE_KEY.test(s), {
    message: `must be URL-safe (letters, digits, - . _ ~ only: base64 +, / and = break the ?code= form); ${KEY_ADVICE}`,
  });

/** NCRONTAB has six fields: second minute hour day month day-of-week. */
const ncrontab = z.string().refine((s) => s.trim().split(/\s+/).length === 6, {
  message: "must be an NCRONTAB expression with six fields (second minute hour day month day-of-week)",
});

export const appSettingsSchema = z
  .object({
    AzureWebJobsStorage: z.string().min(1).optional(),
    AzureWebJobsStorage__accountName: z.string().min(3).optional(),
    AzureWebJobsStorage__blobServiceUri: z.url().optional(),
    AzureWebJobsStorage__queueServiceUri: z.url().optional(),
    AzureWebJobsStorage__tableServiceUri: z.url().optional(),
    AzureWebJobsStorage__clientId: z.string().min(1).optional(),
    AzureWebJobsStorage__credential: z.literal("managedidentity").optional(),
    KEY_VAULT_URL: z.url().optional(),
    LOCAL_SECRETS_KEY: base64Key32.optional(),
    API_KEY: apiKey.optional(),
    API_MASTER_KEY: apiKey.optional(),
    SCHEDULER_SCHEDULE: ncrontab.default("0 */1 * * * *"),
    PORT: z.coerce.number().int().min(1).max(65535).default(7071),
    LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
    /**
     * Dev only (tests, the dev host's local settings; never infra/): `loopback` lets an OAuth token
     * URL be plain http to 127.0.0.0/8, ::1 or localhost (shared/oauth/tokenUrlPolicy.ts).
     */
    ALLOW_INSECURE_TOKEN_URL: z.literal("loopback").optional(),
  })
  .superRefine((s, ctx) => {
    // One key for both roles would make every admin an approver (API.md "Roles").
    if (s.API_KEY !== undefined && s.API_KEY === s.API_MASTER_KEY) {
      ctx.addIssue({ code: "custom", path: ["API_MASTER_KEY"], message: `must differ from API_KEY (the admin key would also approve); ${KEY_ADVICE}` });
    }
    if (!s.KEY_VAULT_URL && !s.LOCAL_SECRETS_KEY) {
      ctx.addIssue({
        code: "custom",
        path: ["LOCAL_SECRETS_KEY"],
        message: "is required when KEY_VAULT_URL is not set (the embedded secret store needs it)",
      });
    }
  });

export type AppSettings = z.infer<typeof appSettingsSchema>;

/** How to reach Storage: a connection string, or identity-based service URIs (Azure). */
export type StorageTarget =
  | { kind: "connectionString"; connectionString: string }
  | { kind: "identity"; blobUri: string; queueUri: string; tableUri: string; clientId?: string };

const DEV_STORAGE = "UseDevelopmentStorage=true";

export function storageTarget(s: AppSettings): StorageTarget {
  const account = s.AzureWebJobsStorage__accountName;
  const hasIdentity = account !== undefined || s.AzureWebJobsStorage__blobServiceUri !== undefined;
  if (hasIdentity && !s.AzureWebJobsStorage) {
    const uri = (svc: string, given: string | undefined): string => given ?? `https://${account}.${svc}.core.windows.net`;
    return {
      kind: "identity",
      blobUri: uri("blob", s.AzureWebJobsStorage__blobServiceUri),
      queueUri: uri("queue", s.AzureWebJobsStorage__queueServiceUri),
      tableUri: uri("table", s.AzureWebJobsStorage__tableServiceUri),
      ...(s.AzureWebJobsStorage__clientId ? { clientId: s.AzureWebJobsStorage__clientId } : {}),
    };
  }
  return { kind: "connectionString", connectionString: s.AzureWebJobsStorage ?? DEV_STORAGE };
}

export function usesDevelopmentStorage(s: AppSettings): boolean {
  const t = storageTarget(s);
  return t.kind === "connectionString" && t.connectionString.trim() === DEV_STORAGE;
}

/** Reads settings from an environment-like record; throws CONFIGURATION_INVALID naming every bad setting. */
export function loadAppSettings(env: Record<string, string | undefined> = process.env): AppSettings {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = appSettingsSchema.safeParse(cleaned);
  if (parsed.success) return parsed.data;
  const details = parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
  const lines = details.map((d) => `  ${d.path}: ${d.message}`).join("\n");
  throw new AppError("CONFIGURATION_INVALID", `Invalid app settings:\n${lines}`, { details });
}
