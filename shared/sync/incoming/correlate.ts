/**
 * @module Correlation of an incoming message with the activities already stored, in Dynamics'
 * order: tracking token in the subject, then In-Reply-To / References against stored
 * Message-IDs, then smart matching (normalized subject plus overlapping participants).
 */
import type { EmailActivity } from "../../domain/email.js";
import type { OrgSettings } from "../../domain/orgSettings.js";
import type { Services } from "../../runtime/services.js";
import { emailLookup } from "../../storage/emailStore.js";

export interface Correlation {
  correlatedEmailId: string | null;
  correlationMethod: EmailActivity["correlationMethod"];
  conversationId: string | null;
  trackingToken: string | null;
}

export interface CorrelationInput {
  subject: string;
  normalizedSubject: string;
  inReplyTo: string | null;
  references: string[];
  participants: string[];
  /** The receiving mailbox's own address: it is in every message, so it proves nothing. */
  ownAddress: string;
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export function findTrackingToken(subject: string, settings: OrgSettings): string | null {
  if (!settings.trackingToken.enabled || !settings.trackingToken.prefix) return null;
  const m = new RegExp(`${escapeRegExp(settings.trackingToken.prefix)}(\\d+)`, "i").exec(subject);
  return m ? `${settings.trackingToken.prefix}${m[1]}` : null;
}

const NONE: Correlation = { correlatedEmailId: null, correlationMethod: "none", conversationId: null, trackingToken: null };

async function load(services: Services, id: string): Promise<EmailActivity | undefined> {
  return (await services.emails.get(id))?.doc;
}

export async function correlate(services: Services, settings: OrgSettings, input: CorrelationInput): Promise<Correlation> {
  const token = findTrackingToken(input.subject, settings);
  if (token) {
    // Replies carry the token too; the activity that issued it (the outgoing one) is the anchor.
    const found = (await Promise.all((await services.emails.idsByLookup(emailLookup.token(token))).map((id) => load(services, id))))
      .filter((e): e is EmailActivity => e !== undefined)
      .sort((a, b) => (a.direction === b.direction ? a.createdAt.localeCompare(b.createdAt) : a.direction === "outgoing" ? -1 : 1));
    const e = found[0];
    if (e) return { correlatedEmailId: e.id, correlationMethod: "trackingToken", conversationId: e.conversationId, trackingToken: token };
  }
  for (const ref of [input.inReplyTo, ...[...input.references].reverse()]) {
    if (!ref) continue;
    const id = await services.emails.idByUniqueKey(emailLookup.messageId(ref));
    const e = id ? await load(services, id) : undefined;
    if (e) return { correlatedEmailId: e.id, correlationMethod: "inReplyTo", conversationId: e.conversationId, trackingToken: token };
  }
  if (settings.useCorrelation && input.normalizedSubject) {
    const mine = new Set(input.participants.filter((a) => a !== input.ownAddress));
    const candidates: EmailActivity[] = [];
    for (const id of await services.emails.idsByLookup(emailLookup.subject(input.normalizedSubject))) {
      const e = await load(services, id);
      if (e && e.normalizedSubject === input.normalizedSubject) candidates.push(e);
    }
    candidates.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    for (const e of candidates) {
      const theirs = [e.from?.address, ...e.to.map((a) => a.address), ...e.cc.map((a) => a.address)];
      if (theirs.some((a) => a && mine.has(a))) {
        return { correlatedEmailId: e.id, correlationMethod: "smartMatching", conversationId: e.conversationId, trackingToken: token };
      }
    }
  }
  return { ...NONE, trackingToken: token };
}
