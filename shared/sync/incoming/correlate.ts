/**
 * @module Correlation of an incoming message with the activities already stored, in Dynamics'
 * order: tracking token in the subject, then In-Reply-To / References against stored
 * Message-IDs, then smart matching (normalized subject plus overlapping participants).
 * The work is bounded whatever the message holds (shared/limits.ts): one lookup page per kind,
 * In-Reply-To and the newest few References only, each batch of reads in parallel.
 */
import type { EmailActivity } from "../../domain/email.js";
import type { OrgSettings } from "../../domain/orgSettings.js";
import type { Services } from "../../runtime/services.js";
import { emailLookup } from "../../storage/emailStore.js";
import { CORRELATION_REFERENCES, MAX_SMART_MATCH_CANDIDATES, MAX_TOKEN_CANDIDATES, MAX_TRACKING_TOKEN_DIGITS } from "../../limits.js";

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
  // A longer run of digits is not one of our tokens (and would make a key too long).
  const m = new RegExp(`${escapeRegExp(settings.trackingToken.prefix)}(\\d{1,${MAX_TRACKING_TOKEN_DIGITS}})(?!\\d)`, "i").exec(subject);
  return m ? `${settings.trackingToken.prefix}${m[1]}` : null;
}

/**
 * Smart matching looks only at mail that says it follows another: a reply or forward prefix
 * (normalizeSubject strips one), or In-Reply-To/References that found nothing. Mail that starts a
 * thread has nothing to follow, so it costs no query (decision 0026), and two unrelated messages
 * that merely share a subject ("Invoice", "Hello") are not threaded together.
 */
export function presentsAsReply(subject: string, normalizedSubject: string): boolean {
  return subject.replace(/\s+/g, " ").trim().toLowerCase() !== normalizedSubject;
}

const NONE: Correlation = { correlatedEmailId: null, correlationMethod: "none", conversationId: null, trackingToken: null };

async function load(services: Services, id: string): Promise<EmailActivity | undefined> {
  return (await services.emails.get(id))?.doc;
}

/** The activities of `ids`, read in parallel, in the same order (missing ones left out). */
async function loadAll(services: Services, ids: readonly string[]): Promise<EmailActivity[]> {
  return (await Promise.all(ids.map((id) => load(services, id)))).filter((e): e is EmailActivity => e !== undefined);
}

async function firstPage(services: Services, key: string, top: number): Promise<EmailActivity[]> {
  return loadAll(services, (await services.emails.lookupPage(key, top)).ids);
}

export async function correlate(services: Services, settings: OrgSettings, input: CorrelationInput): Promise<Correlation> {
  const token = findTrackingToken(input.subject, settings);
  if (token) {
    // The outgoing email that issued the token is the anchor; when the counter has wrapped, the
    // newest. Incoming mail quoting the token is looked at only when no issuer is indexed (emails
    // stored before the issuer index existed), so strangers' mail cannot crowd the issuer out.
    const issued = (await firstPage(services, emailLookup.tokenIssued(token), MAX_TOKEN_CANDIDATES)).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    const found = issued.length > 0 ? issued : (await firstPage(services, emailLookup.token(token), MAX_TOKEN_CANDIDATES))
      .sort((a, b) => (a.direction === b.direction ? a.createdAt.localeCompare(b.createdAt) : a.direction === "outgoing" ? -1 : 1));
    const e = found[0];
    if (e) return { correlatedEmailId: e.id, correlationMethod: "trackingToken", conversationId: e.conversationId, trackingToken: token };
  }
  const refs = [...new Set([input.inReplyTo, ...input.references.slice(-CORRELATION_REFERENCES).reverse()].filter((r): r is string => !!r))];
  const refIds = await Promise.all(refs.map((ref) => services.emails.idByUniqueKey(emailLookup.messageId(ref))));
  const referenced = await loadAll(services, refIds.filter((id): id is string => id !== undefined));
  const e = referenced[0];
  if (e) return { correlatedEmailId: e.id, correlationMethod: "inReplyTo", conversationId: e.conversationId, trackingToken: token };
  if (settings.useCorrelation && input.normalizedSubject && (refs.length > 0 || presentsAsReply(input.subject, input.normalizedSubject))) {
    const mine = new Set(input.participants.filter((a) => a !== input.ownAddress));
    const candidates = (await firstPage(services, emailLookup.subject(input.normalizedSubject), MAX_SMART_MATCH_CANDIDATES))
      .filter((c) => c.normalizedSubject === input.normalizedSubject)
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    for (const c of candidates) {
      const theirs = [c.from?.address, ...c.to.map((a) => a.address), ...c.cc.map((a) => a.address)];
      if (theirs.some((a) => a && mine.has(a))) {
        return { correlatedEmailId: c.id, correlationMethod: "smartMatching", conversationId: c.conversationId, trackingToken: token };
      }
    }
  }
  return { ...NONE, trackingToken: token };
}
