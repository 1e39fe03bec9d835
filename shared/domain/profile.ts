/**
 * @module Email server profiles: where the POP3 and SMTP servers are and how to log in.
 * Request schemas carry no defaults; `applyProfileDefaults` fills them (ports too) on save, so a
 * PATCH can tell "not sent" from "sent as the default".
 */
import { z } from "zod";
import { credentialsInput, credentialsView, entityMeta, hostName, isoTimestamp, port } from "./common.js";

export const incomingAuth = z.enum(["auto", "user", "apop", "saslPlain"]);
export const outgoingAuth = z.enum(["auto", "plain", "login"]);
export const authenticateUsing = z.enum(["mailboxCredentials", "profileCredentials"]);

const endpointFields = { port: port.optional(), useSsl: z.boolean().optional() };
const incomingEndpoint = z.strictObject({ host: hostName, ...endpointFields, authProtocol: incomingAuth.optional() });
const outgoingEndpoint = z.strictObject({ host: hostName, ...endpointFields, authProtocol: outgoingAuth.optional() });

const profileFields = {
  description: z.string().max(2000).optional(),
  authenticateUsing: authenticateUsing.optional(),
  credentials: credentialsInput.nullable().optional(),
  useSameSettingsForOutgoing: z.boolean().optional(),
  outgoingCredentials: credentialsInput.nullable().optional(),
  allowUntrustedCertificates: z.boolean().optional(),
  allowCredentialsOverInsecureChannels: z.boolean().optional(),
  processEmailFrom: isoTimestamp.nullable().optional(),
  minPollingIntervalMinutes: z.number().int().min(0).max(1440).optional(),
  maxConcurrentConnections: z.number().int().min(1).max(300).optional(),
};
const profileName = z.string().trim().min(1).max(100);

export const profileCreate = z.strictObject({ name: profileName, incoming: incomingEndpoint, outgoing: outgoingEndpoint, ...profileFields });
export const profilePatch = z.strictObject({
  name: profileName.optional(),
  incoming: incomingEndpoint.partial().optional(),
  outgoing: outgoingEndpoint.partial().optional(),
  ...profileFields,
});
export type ProfileCreate = z.infer<typeof profileCreate>;
export type ProfilePatch = z.infer<typeof profilePatch>;

/** Credentials as stored: the password lives in the secret store under `secretName`. */
export interface StoredCredentials {
  userName: string;
  secretName: string | null;
}

export interface Endpoint<A extends string> {
  host: string;
  port: number;
  useSsl: boolean;
  authProtocol: A;
}

export interface Profile {
  id: string;
  createdAt: string;
  updatedAt: string;
  name: string;
  description: string;
  incoming: Endpoint<z.infer<typeof incomingAuth>>;
  outgoing: Endpoint<z.infer<typeof outgoingAuth>>;
  authenticateUsing: z.infer<typeof authenticateUsing>;
  credentials: StoredCredentials | null;
  useSameSettingsForOutgoing: boolean;
  outgoingCredentials: StoredCredentials | null;
  allowUntrustedCertificates: boolean;
  allowCredentialsOverInsecureChannels: boolean;
  processEmailFrom: string | null;
  minPollingIntervalMinutes: number;
  maxConcurrentConnections: number;
}

/** RFC 1939 / RFC 8314: 995 implicit TLS, 110 plain (+STLS); 465 implicit TLS, 587 submission. */
export const defaultPort = (direction: "incoming" | "outgoing", useSsl: boolean): number =>
  direction === "incoming" ? (useSsl ? 995 : 110) : useSsl ? 465 : 587;

export const endpointView = <A extends z.ZodEnum>(auth: A) =>
  z.object({ host: z.string(), port: z.number(), useSsl: z.boolean(), authProtocol: auth });

export const profileView = z.object({
  ...entityMeta,
  name: z.string(),
  description: z.string(),
  incoming: endpointView(incomingAuth),
  outgoing: endpointView(outgoingAuth),
  authenticateUsing,
  credentials: credentialsView.nullable(),
  useSameSettingsForOutgoing: z.boolean(),
  outgoingCredentials: credentialsView.nullable(),
  allowUntrustedCertificates: z.boolean(),
  allowCredentialsOverInsecureChannels: z.boolean(),
  processEmailFrom: z.string().nullable(),
  minPollingIntervalMinutes: z.number(),
  maxConcurrentConnections: z.number(),
});
export type ProfileView = z.infer<typeof profileView>;

export const viewCredentials = (c: StoredCredentials | null): { userName: string; hasPassword: boolean } | null =>
  c ? { userName: c.userName, hasPassword: c.secretName !== null } : null;

export function toProfileView(p: Profile, etag: string): ProfileView {
  return { ...p, etag, credentials: viewCredentials(p.credentials), outgoingCredentials: viewCredentials(p.outgoingCredentials) };
}

/** Fields whose change means mailboxes must pass Test & Enable again (API.md). */
export function connectionChanged(before: Profile, after: Profile): boolean {
  const pick = (p: Profile): unknown => [
    p.incoming, p.outgoing, p.authenticateUsing, p.credentials, p.useSameSettingsForOutgoing,
    p.outgoingCredentials, p.allowUntrustedCertificates, p.allowCredentialsOverInsecureChannels,
  ];
  return JSON.stringify(pick(before)) !== JSON.stringify(pick(after));
}
