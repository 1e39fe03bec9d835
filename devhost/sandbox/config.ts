/**
 * @module The sandbox's settings (environment first, then local.settings.json, as every setting):
 * MAIL_SANDBOX on|off (on when unset: `npm start` is for trying things), the two ports and the
 * data folder where its certificate is kept between starts.
 */
import { join } from "node:path";
import { z } from "zod";

export const SANDBOX_DEFAULT_PORTS = { smtp: 2587, pop3: 2110 } as const;

export interface SandboxConfig {
  enabled: boolean;
  smtpPort: number;
  pop3Port: number;
  dataDir: string;
}

const port = (fallback: number) => z.string().trim().regex(/^\d{1,5}$/, "must be a port number, 0-65535 (0 = any free port)")
  .transform(Number).refine((n) => n <= 65535, "must be a port number, 0-65535 (0 = any free port)")
  .optional().transform((n) => n ?? fallback);

const schema = z.object({
  MAIL_SANDBOX: z.enum(["on", "off"], { message: "must be on or off" }).optional(),
  SANDBOX_SMTP_PORT: port(SANDBOX_DEFAULT_PORTS.smtp),
  SANDBOX_POP3_PORT: port(SANDBOX_DEFAULT_PORTS.pop3),
  SANDBOX_DATA_DIR: z.string().min(1).optional(),
});

export type SandboxConfigResult = { ok: true; config: SandboxConfig } | { ok: false; problems: string[] };

/** `onByDefault`: what an unset MAIL_SANDBOX means (on for `npm start`, off for tests that start the host directly). */
export function readSandboxConfig(settings: Record<string, string | undefined>, root: string, onByDefault: boolean): SandboxConfigResult {
  const value = (name: string): string | undefined => settings[name]?.trim() || undefined;
  const picked = {
    MAIL_SANDBOX: value("MAIL_SANDBOX")?.toLowerCase(),
    SANDBOX_SMTP_PORT: value("SANDBOX_SMTP_PORT"),
    SANDBOX_POP3_PORT: value("SANDBOX_POP3_PORT"),
    SANDBOX_DATA_DIR: value("SANDBOX_DATA_DIR"),
  };
  const parsed = schema.safeParse(picked);
  if (!parsed.success) return { ok: false, problems: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`) };
  const v = parsed.data;
  return {
    ok: true,
    config: {
      enabled: v.MAIL_SANDBOX === undefined ? onByDefault : v.MAIL_SANDBOX === "on",
      smtpPort: v.SANDBOX_SMTP_PORT,
      pop3Port: v.SANDBOX_POP3_PORT,
      // node_modules/.cache is git-ignored and left out of the deployment package already.
      dataDir: v.SANDBOX_DATA_DIR ?? join(root, "node_modules", ".cache", "email-sync-sandbox"),
    },
  };
}
