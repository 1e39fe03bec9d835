/**
 * @module Forward mailboxes: a server rule in each user's mailbox forwards a copy, as a
 * message/rfc822 attachment, to one sink mailbox. The original is filed as an activity of the
 * user or queue mailbox whose address it was sent to; its own bytes become the activity's raw.
 */
import type { ParsedMessage } from "./parse.js";
import { parseMessage } from "./parse.js";
import type { Marker } from "./checkpoint.js";
import type { MessageContext } from "./processMessage.js";
import { fileMessage, rawBlobName } from "./processMessage.js";
import type { RawUpload } from "../../storage/rawStore.js";
import { raiseAlert } from "../alerts.js";
import { adviceFor } from "../advice.js";

export async function forwardTarget(ctx: MessageContext, wrapper: ParsedMessage, upload: RawUpload): Promise<Marker> {
  const { services, mailbox } = ctx;
  const attached = wrapper.attachments.find((a) => a.contentType.toLowerCase() === "message/rfc822");
  if (!attached) return noMatch(ctx, `message ${wrapper.messageId ?? upload.sha256} carries no forwarded message (message/rfc822 attachment)`);
  const original = await parseMessage(attached.content);
  for (const recipient of [...original.to, ...original.cc]) {
    const id = await services.repos.mailboxes.idByUniqueKey(`address:${recipient.address}`);
    if (!id || id === mailbox.id) continue;
    const target = await services.repos.mailboxes.get(id);
    if (!target || target.doc.isForwardMailbox || !target.doc.active) continue;
    const originalUpload = await services.raw.uploadBuffer(rawBlobName(mailbox.id, `${ctx.uid}.original`), attached.content);
    const marker = await fileMessage(ctx, target.doc, original, originalUpload);
    // The wrapper itself is not an activity; only the original's bytes are kept.
    await services.raw.delete(upload.blobName);
    return marker;
  }
  const to = [...original.to, ...original.cc].map((a) => a.address).join(", ") || "no recipients";
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
