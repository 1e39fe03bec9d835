/**
 * A profile and one mailbox on it, made with the admin functions and ready to poll: approved
 * (setApproval) and incoming enabled the way bench:cost does it (Test & Enable would also log in to
 * SMTP, which the benches do not run).
 */
import { createProfile } from "../../shared/admin/profiles.js";
import { createMailbox, setApproval } from "../../shared/admin/mailboxes.js";
import type { Services } from "../../shared/runtime/services.js";

export interface BenchMailbox {
  tag: string;
  host: string;
  port: number;
  useSsl: boolean;
  userName: string;
  password: string;
  /** The profile's connection limit; default the product's (10). */
  maxConcurrentConnections?: number;
  /** Make it on this profile instead of a new one. */
  profileId?: string;
}

export async function benchProfile(services: Services, m: Omit<BenchMailbox, "userName" | "password" | "profileId">): Promise<string> {
  const profile = await createProfile(services, {
    name: `bench-${m.tag}`, incoming: { host: m.host, port: m.port, useSsl: m.useSsl }, outgoing: { host: m.host, port: 2525, useSsl: false },
    ...(m.useSsl ? {} : { allowCredentialsOverInsecureChannels: true }), minPollingIntervalMinutes: 0,
    ...(m.maxConcurrentConnections ? { maxConcurrentConnections: m.maxConcurrentConnections } : {}),
  });
  return profile.doc.id;
}

/** The new mailbox's id. */
export async function enabledMailbox(services: Services, m: BenchMailbox): Promise<string> {
  const profileId = m.profileId ?? (await benchProfile(services, m));
  const created = await createMailbox(services, {
    owner: { type: "queue", id: `q-${m.tag}` }, emailAddress: `${m.tag}@bench.test`, profileId,
    credentials: { userName: m.userName, password: m.password }, incomingFilter: "all",
  });
  await setApproval(services, created.doc.id, "approved", undefined);
  await services.repos.mailboxes.update(created.doc.id, (x) => ({ ...x, incoming: { ...x.incoming, enabled: true, status: "success" } }));
  return created.doc.id;
}
