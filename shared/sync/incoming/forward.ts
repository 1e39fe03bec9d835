/**
 * @module Forward mailboxes: a server rule in each user's mailbox forwards a copy, as a
 * message/rfc822 attachment, to one sink mailbox. The original is filed as an activity of the
 * user or queue mailbox whose address it was sent to; its own bytes become the activity's raw.
 *
 * Only where the admin allowed it (DESIGN.md point 10): the recipient mailbox must be active, have
 * the incoming method forwardMailbox, be approved where the org settings require approval for its
 * owner type, and not be a forward mailbox itself. A recipient that fails any of these is skipped,
 * and when no recipient is allowed the forwarded message is not filed at all ("noMatch", counted in
 * the forward mailbox's stats.skipped) and a warning alert names each refused mailbox and why.
 *
 * Such a message is not lost: it stays on the server (never deleted) and is parked, fetched and
 * matched again after a growing wait (reconsider.ts forwardRetry), so a mailbox created, approved
 * or switched to forwardMailbox later still gets it; filed then, it counts as received instead.
 */
import type { ParsedMessage } from "./parse.js";
import { parseMessage } from "./parse.js";
import type { Marker } from "./checkpoint.js";
import type { MessageContext, StoredMessage } from "./processMessage.js";
import { fileMessage, rawBlobName } from "./processMessage.js";
import { ContentDigest } from "./contentDigest.js";
import { MAX_FORWARD_RECIPIENTS_CHECKED, MAX_INLINE_RAW_BYTES } from "../../limits.js";
import { isApprovedEnough, type Mailbox } from "../../domain/mailbox.js";
import type { OrgSettings } from "../../domain/orgSettings.js";
import type { Services } from "../../runtime/services.js";
import { raiseAlert } from "../alerts.js";
import { adviceFor } from "../advice.js";
import { forwardRetry } from "./reconsider.js";

/** A mailbox that has a recipient's address but may not receive forwarded mail, and why. */
interface Refusal {
  mailbox: Mailbox;
  reasons: string[];
}

/** Why `m` may not receive mail through a forward mailbox; empty when it may. */
export function forwardRefusals(m: Mailbox, settings: OrgSettings): string[] {
  const reasons: string[] = [];
  if (m.isForwardMailbox) reasons.push("it is a forward mailbox itself");
  if (!m.active) reasons.push("it is inactive");
  if (m.incomingMethod !== "forwardMailbox") reasons.push(`its incoming method is ${m.incomingMethod}, not forwardMailbox`);
  if (!isApprovedEnough(m, settings)) {
    reasons.push(`it is not approved (${m.approval}) and the org settings require approval for ${m.owner.type} mailboxes`);
  }
  return reasons;
}

/**
 * The first of `addresses` whose mailbox may receive forwarded mail, and the mailboxes passed over
 * on the way. The address lookups run in parallel; at most MAX_FORWARD_RECIPIENTS_CHECKED of them.
 */
async function firstTarget(services: Services, self: Mailbox, settings: OrgSettings, addresses: string[]): Promise<{ target?: Mailbox; refused: Refusal[] }> {
  const ids = await Promise.all(addresses.map((a) => services.repos.mailboxes.idByUniqueKey(`address:${a}`)));
  const refused: Refusal[] = [];
  for (const id of new Set(ids)) {
    if (!id || id === self.id) continue;
    const candidate = (await services.repos.mailboxes.get(id))?.doc;
    if (!candidate) continue;
    const reasons = forwardRefusals(candidate, settings);
    if (reasons.length === 0) return { target: candidate, refused };
    refused.push({ mailbox: candidate, reasons });
  }
  return { refused };
}

export async function forwardTarget(ctx: MessageContext, wrapper: ParsedMessage, upload: StoredMessage): Promise<Marker> {
  const { services, mailbox } = ctx;
  const attached = wrapper.attachments.find((a) => a.contentType.toLowerCase() === "message/rfc822");
  if (!attached) {
    // Not a forwarded copy at all: settled, left on the server, bytes not kept (no activity owns them).
    await services.raw.discard(upload);
    return noMatch(ctx, `message ${wrapper.messageId ?? upload.sha256} carries no forwarded message (message/rfc822 attachment)`);
  }
  const original = await parseMessage(attached.content);
  // Bounded: a forwarded message may list thousands of recipients.
  const recipients = [...new Set([...original.to, ...original.cc].map((a) => a.address))].slice(0, MAX_FORWARD_RECIPIENTS_CHECKED);
  const { target, refused } = await firstTarget(services, mailbox, ctx.settings, recipients);
  if (target) {
    const digest = new ContentDigest();
    digest.update(attached.content);
    const originalUpload = await services.raw.holdOrUpload(rawBlobName(mailbox.id, ctx.scope, `${ctx.uid}.original`), attached.content, MAX_INLINE_RAW_BYTES);
    const marker = await fileMessage(ctx, target, original, { ...originalUpload, contentDigest: digest.digest(originalUpload.sha256) });
    // The wrapper itself is not an activity; only the original's bytes are kept.
    await services.raw.discard(upload);
    return marker;
  }
  // The message will not change, but the mailboxes may: parked, its bytes not kept meanwhile.
  const retry = forwardRetry(ctx.previous, services.clock.now());
  await services.raw.discard(upload);
  if (refused.length > 0) return noMatch(ctx, notAllowed(refused), REFUSED_ADVICE, retry);
  const to = recipients.slice(0, 5).join(", ") + (recipients.length > 5 ? ", ..." : "") || "no recipients";
  return noMatch(ctx, `no user or queue mailbox matches the forwarded message's recipients (${to})`, adviceFor("FORWARD_NO_MATCH"), retry);
}

const PARKED_NOTE = "The message stays on the server and is matched again for about 10 days, so it is filed once such a mailbox is allowed.";

const REFUSED_ADVICE = "The message was not filed. To file such mail, set the recipient mailbox's incoming method to " +
  "forwardMailbox, make it active and approve it where approval is required; or correct the forwarding rule.";

function notAllowed(refused: Refusal[]): string {
  const shown = refused.slice(0, 5).map((r) => `${r.mailbox.emailAddress} (${r.reasons.join("; ")})`);
  const more = refused.length > 5 ? `, and ${refused.length - 5} more` : "";
  const which = refused.length === 1 ? "mailbox" : "mailboxes";
  return `the forwarded message's recipient ${which} may not receive forwarded mail: ${shown.join(", ")}${more}`;
}

/** Not filed, left on the server; parked when `retry` says when to look again. Alerted the first time only. */
async function noMatch(ctx: MessageContext, why: string, advice = adviceFor("FORWARD_NO_MATCH"), retry: Pick<Marker, "retryAt" | "attempts"> = {}): Promise<Marker> {
  const { services, mailbox } = ctx;
  if (ctx.previous === undefined) {
    await raiseAlert(services, {
      level: "warning", code: "FORWARD_NO_MATCH", mailboxId: mailbox.id, profileId: mailbox.profileId,
      message: `Forward mailbox ${mailbox.emailAddress}: ${why}. ${advice}${retry.retryAt ? ` ${PARKED_NOTE}` : ""}`,
    });
  }
  return { outcome: "noMatch", emailId: null, deletable: false, ...retry };
}
