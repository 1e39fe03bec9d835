/**
 * @module Email server profiles: where the POP3 and SMTP servers are and how to log in.
 * Request schemas carry no defaults; `applyProfileDefaults` fills them (ports too) on save, so a
 * PATCH can tell "not sent" from "sent as the default".
 */
import { z } from "zod";
import { credentialsInput, credentialsView, entityMeta, hostName, isoTimestamp, noLineBreaks, port } from "./common.js";
import { checkTokenUrl } from "../oauth/tokenUrlPolicy.js";

/** `xoauth2`: an OAuth 2.0 token from the profile's `oauth` client instead of a password (never chosen by `auto`). */
export const incomingAuth = z.enum(["auto", "user", "apop", "saslPlain", "xoauth2"]);
export const outgoingAuth = z.enum(["auto", "plain", "login", "xoauth2"]);
export const authenticateUsing = z.enum(["mailboxCredentials", "profileCredentials"]);

/** Who receives the profile's alerts (API.md): a user or a queue, as a mailbox's owner. */
export const profileOwner = z.strictObject({
  type: z.enum(["user", "queue"]),
  id: z.string().trim().min(1).max(200),
  name: z.string().max(200).optional(),
});
export type ProfileOwner = z.infer<typeof profileOwner>;

/**
 * How the profile's account reads each mailbox's own maildrop (docs/delegation.md): `none` logs
 * every mailbox in as the account itself (one shared maildrop); `saslAuthzid` sends the mailbox's
 * login as the SASL PLAIN authorization identity (RFC 4616); `loginSeparator` logs in as
 * `<mailbox login><separator><account>` (Dovecot master users, `mailbox*master`).
 */
export const delegationMode = z.enum(["none", "saslAuthzid", "loginSeparator"]);
export type DelegationMode = z.infer<typeof delegationMode>;
export const DEFAULT_DELEGATION_SEPARATOR = "*";
/** Printable ASCII without space: it goes inside a USER argument and a SASL identity. */
const delegationSeparator = z.string().regex(/^[\x21-\x7e]{1,8}$/, "must be 1-8 printable ASCII characters without spaces");

const endpointFields = { port: port.optional(), useSsl: z.boolean().optional() };
const incomingEndpoint = z.strictObject({
  host: hostName, ...endpointFields, authProtocol: incomingAuth.optional(),
  delegation: delegationMode.optional(), delegationSeparator: delegationSeparator.optional(),
});
const outgoingEndpoint = z.strictObject({ host: hostName, ...endpointFields, authProtocol: outgoingAuth.optional() });

/**
 * The client secret goes to this URL: https only; plain http only to loopback, and only where
 * the dev-only setting ALLOW_INSECURE_TOKEN_URL=loopback says so (shared/oauth/tokenUrlPolicy.ts).
 */
const tokenUrl = z.url().max(2048).superRefine(checkTokenUrl);

/** The OAuth 2.0 client (client credentials grant) whose tokens log in where a direction uses `xoauth2`. */
export const oauthInput = z.strictObject({
  tokenUrl,
  clientId: z.string().trim().min(1).max(256).refine(noLineBreaks, "must not contain line breaks"),
  /** Write-only, like passwords; omitted on a change, the stored one is kept. */
  clientSecret: z.string().min(1).max(4096).refine(noLineBreaks, "must not contain line breaks").optional(),
  scope: z.string().trim().min(1).max(1000).refine(noLineBreaks, "must not contain line breaks"),
});
export type OAuthInput = z.infer<typeof oauthInput>;

export interface StoredOAuth {
  tokenUrl: string;
  clientId: string;
  scope: string;
  secretName: string | null;
}

export const oauthView = z.object({ tokenUrl: z.string(), clientId: z.string(), scope: z.string(), hasClientSecret: z.boolean() });

const profileFields = {
  owner: profileOwner.nullable().optional(),
  oauth: oauthInput.nullable().optional(),
  description: z.string().max(2000).optional(),
  authenticateUsing: authenticateUsing.optional(),
  credentials: credentialsInput.nullable().optional(),
  useSameSettingsForOutgoing: z.boolean().optional(),
  outgoingCredentials: credentialsInput.nullable().optional(),
  allowUntrustedCertificates: z.boolean().optional(),
  allowCredentialsOverInsecureChannels: z.boolean().optional(),
  processEmailFrom: isoTimestamp.nullable().optional().describe("the cut-off: mail the server received before it (the topmost readable Received: date; Date only without one; the fetch time without either) is skipped, left on the server and filed once the effective cut-off is cleared or moved earlier (docs/incoming.md)"),
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

export interface IncomingEndpoint extends Endpoint<z.infer<typeof incomingAuth>> {
  /** Absent on profiles stored before delegation existed: read with delegationOf. */
  delegation?: DelegationMode;
  delegationSeparator?: string;
}

export interface Profile {
  id: string;
  createdAt: string;
  updatedAt: string;
  name: string;
  description: string;
  /** Absent on profiles stored before owners existed: read as null. */
  owner?: ProfileOwner | null;
  incoming: IncomingEndpoint;
  outgoing: Endpoint<z.infer<typeof outgoingAuth>>;
  authenticateUsing: z.infer<typeof authenticateUsing>;
  credentials: StoredCredentials | null;
  useSameSettingsForOutgoing: boolean;
  outgoingCredentials: StoredCredentials | null;
  /** Absent on profiles stored before OAuth existed: read as null. */
  oauth?: StoredOAuth | null;
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
  owner: z.object({ type: profileOwner.shape.type, id: z.string(), name: z.string().optional() }).nullable(),
  incoming: endpointView(incomingAuth).extend({ delegation: delegationMode, delegationSeparator: z.string() }),
  outgoing: endpointView(outgoingAuth),
  authenticateUsing,
  credentials: credentialsView.nullable(),
  useSameSettingsForOutgoing: z.boolean(),
  outgoingCredentials: credentialsView.nullable(),
  oauth: oauthView.nullable(),
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
  const o = p.oauth;
  return {
    ...p, etag, owner: p.owner ?? null, incoming: { ...p.incoming, ...delegationOf(p) }, credentials: viewCredentials(p.credentials), outgoingCredentials: viewCredentials(p.outgoingCredentials),
    oauth: o ? { tokenUrl: o.tokenUrl, clientId: o.clientId, scope: o.scope, hasClientSecret: o.secretName !== null } : null,
  };
}

/** The profile's delegation, with the defaults a profile stored before delegation existed reads as. */
export function delegationOf(p: Profile): { delegation: DelegationMode; delegationSeparator: string } {
  return { delegation: p.incoming.delegation ?? "none", delegationSeparator: p.incoming.delegationSeparator ?? DEFAULT_DELEGATION_SEPARATOR };
}

/** The delegation as it acts on logins: the separator matters only to loginSeparator. */
export function usedDelegation(p: Profile): { delegation: DelegationMode; delegationSeparator: string | null } {
  const { delegation, delegationSeparator } = delegationOf(p);
  return { delegation, delegationSeparator: delegation === "loginSeparator" ? delegationSeparator : null };
}

/** Fields whose change means mailboxes must pass Test & Enable again (API.md). */
export function connectionChanged(before: Profile, after: Profile): boolean {
  const pick = (p: Profile): unknown => [
    { ...p.incoming, ...usedDelegation(p) }, p.outgoing, p.authenticateUsing, p.credentials, p.useSameSettingsForOutgoing,
    p.outgoingCredentials, p.oauth ?? null, p.allowUntrustedCertificates, p.allowCredentialsOverInsecureChannels,
  ];
  return JSON.stringify(pick(before)) !== JSON.stringify(pick(after));
}
