/**
 * @module Forward mailboxes: a server rule in each user's mailbox forwards a copy, as a
 * message/rfc822 attachment, to one sink mailbox. The original is filed as an activity of the
 * user or queue mailbox whose address it was sent to; its own bytes become the activity's raw.
 */
import type { ParsedMessage } from "./parse.js";
import { parseMessage } from "./parse.js";
import type { Marker } from "./checkpoint.js";
import type { MessageContext, StoredMessage } from "./processMessage.js";
import { fileMessage, rawBlobName } from "./processMessage.js";
import { ContentDigest } from "./contentDigest.js";
import { MAX_FORWARD_RECIPIENTS_CHECKED } from "../../limits.js";
import type { Mailbox } from "../../domain/mailbox.js";
import type { Services } from "../../runtime/services.js";
import { raiseAlert } from "../alerts.js";
import { adviceFor } from "../advice.js";

/** The first of `addresses` that is another active user or queue mailbox, looked up in parallel. */
async function firstTarget(services: Services, self: Mailbox, addresses: string[]): Promise<Mailbox | undefined> {
  const ids = await Promise.all(addresses.map((a) => services.repos.mailboxes.idByUniqueKey(`address:${a}`)));
  for (const id of ids) {
    if (!id || id === self.id) continue;
    const target = (await services.repos.mailboxes.get(id))?.doc;
    if (target && !target.isForwardMailbox && target.active) return target;
  }
  return undefined;
}

export async function forwardTarget(ctx: MessageContext, wrapper: ParsedMessage, upload: StoredMessage): Promise<Marker> {
  const { services, mailbox } = ctx;
  const attached = wrapper.attachments.find((a) => a.contentType.toLowerCase() === "message/rfc822");
  if (!attached) return noMatch(ctx, `message ${wrapper.messageId ?? upload.sha256} carries no forwarded message (message/rfc822 attachment)`);
  const original = await parseMessage(attached.content);
  // Bounded: a forwarded message may list thousands of recipients.
  const recipients = [...new Set([...original.to, ...original.cc].map((a) => a.address))].slice(0, MAX_FORWARD_RECIPIENTS_CHECKED);
  const target = await firstTarget(services, mailbox, recipients);
  if (target) {
    const digest = new ContentDigest();
    digest.update(attached.content);
    const originalUpload = await services.raw.uploadBuffer(rawBlobName(mailbox.id, ctx.scope, `${ctx.uid}.original`), attached.content);
    const marker = await fileMessage(ctx, target, original, { ...originalUpload, contentDigest: digest.digest(originalUpload.sha256) });
    // The wrapper itself is not an activity; only the original's bytes are kept.
    await services.raw.delete(upload.blobName);
    return marker;
  }
  const to = recipients.slice(0, 5).join(", ") + (recipients.length > 5 ? ", ..." : "") || "no recipients";
  return noMatch(ctx, `no user or queue mailbox matches the forwarded message's recipients (${to})`);
}

async function noMatch(ctx: MessageContext, why: string): Promise<Marker> {
  const { services, mailbox } = ctx;
  await raiseAlert(services, {
    level: "warning", code: "FORWARD_NO_MATCH", mailboxId: mailbox.id, profileId: mailbox.profileId,
    message: `Forward mailbox ${mailbox.emailAddress}: ${why}. ${adviceFor("FORWARD_NO_MATCH")}`,
  });
  return { outcome: "noMatch", emailId: null, deletable: false };
}
