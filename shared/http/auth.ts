/**
 * @module Who is calling, and with which roles (API.md "Roles"). Keys are checked by the app
 * itself, not by the host, so the same rules hold under the dev host, Core Tools and Azure:
 * API_KEY grants admin; API_MASTER_KEY grants admin and approver. Behind App Service
 * Authentication the app roles Email.Admin and Email.Approver of the signed-in principal count too.
 */
import { timingSafeEqual, createHash } from "node:crypto";
import type { HttpRequest } from "@azure/functions";
import type { AppSettings } from "../config/appSettings.js";
import { AppError } from "../errors.js";

export type Role = "admin" | "approver";
export interface Caller {
  roles: Set<Role>;
  via: "key" | "masterKey" | "easyAuth";
}

/** Compares digests so neither the length nor the content of a key leaks through timing. */
function sameSecret(a: string, b: string): boolean {
  const da = createHash("sha256").update(a).digest();
  const db = createHash("sha256").update(b).digest();
  return timingSafeEqual(da, db);
}

interface ClientPrincipal {
  claims?: { typ: string; val: string }[];
  role_typ?: string;
}

function easyAuthRoles(header: string | null, env: Record<string, string | undefined>): Set<Role> | undefined {
  // The platform strips a client-sent x-ms-client-principal only when Easy Auth is on; without it
  // the header is attacker-controlled and must be ignored.
  if (!header || env.WEBSITE_AUTH_ENABLED?.toLowerCase() !== "true") return undefined;
  let principal: ClientPrincipal;
  try {
    principal = JSON.parse(Buffer.from(header, "base64").toString("utf8")) as ClientPrincipal;
  } catch {
    return undefined;
  }
  const roleTypes = new Set(["roles", principal.role_typ ?? "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"]);
  const values = (principal.claims ?? []).filter((c) => roleTypes.has(c.typ)).map((c) => c.val);
  const roles = new Set<Role>();
  if (values.includes("Email.Admin")) roles.add("admin");
  if (values.includes("Email.Approver")) roles.add("approver");
  return roles;
}

export function authenticate(req: HttpRequest, settings: AppSettings, env: Record<string, string | undefined> = process.env): Caller {
  const key = req.headers.get("x-functions-key") ?? req.query.get("code");
  if (key) {
    if (settings.API_MASTER_KEY && sameSecret(key, settings.API_MASTER_KEY)) return { roles: new Set(["admin", "approver"]), via: "masterKey" };
    if (settings.API_KEY && sameSecret(key, settings.API_KEY)) return { roles: new Set(["admin"]), via: "key" };
    throw new AppError("UNAUTHORIZED", "The key is not valid.");
  }
  const roles = easyAuthRoles(req.headers.get("x-ms-client-principal"), env);
  if (roles) return { roles, via: "easyAuth" };
  throw new AppError("UNAUTHORIZED", "A key is required: send it in the x-functions-key header or the code query parameter.");
}

export function requireRole(caller: Caller, role: Role): void {
  if (!caller.roles.has(role)) {
    throw new AppError("FORBIDDEN", role === "approver"
      ? "This action needs the approver role (the master key, or the Email.Approver app role)."
      : "This action needs the admin role.");
  }
}
