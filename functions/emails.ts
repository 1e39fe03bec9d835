/**
 * @module Routes: reading email activities and their raw bytes.
 */
import { Readable } from "node:stream";
import { defineRoute } from "../shared/http/route.js";
import { entity, json } from "../shared/http/responses.js";
import { emailListQuery, emailView, toEmailView, type EmailActivity } from "../shared/domain/email.js";
import { listOf, listQuery } from "../shared/domain/common.js";
import { notFound } from "../shared/errors.js";
import { equalsFilter, type Stored } from "../shared/storage/documentTable.js";
import { emailLookup } from "../shared/storage/emailStore.js";
import type { Services } from "../shared/runtime/services.js";
import { z } from "zod";

const query = listQuery.extend(emailListQuery.shape).strict();
type Query = z.infer<typeof query>;

const matches = (e: EmailActivity, q: Query): boolean =>
  (!q.direction || e.direction === q.direction) && (!q.status || e.status === q.status) && (!q.conversationId || e.conversationId === q.conversationId);

/**
 * By mailbox, the lookup rows are read (an activity received by two mailboxes is found from
 * either), then the documents; other filters are applied by the table query itself.
 */
async function list(services: Services, q: Query): Promise<{ items: Stored<EmailActivity>[]; continuationToken: string | null }> {
  if (!q.mailboxId) {
    const filter = equalsFilter({ direction: q.direction, status: q.status, conversationId: q.conversationId });
    return services.emails.list({ top: q.top, continuationToken: q.continuationToken, ...(filter ? { filter } : {}) });
  }
  const page = await services.emails.lookupPage(emailLookup.mailbox(q.mailboxId), q.top, q.continuationToken);
  const docs = await Promise.all(page.ids.map((id) => services.emails.get(id)));
  return { items: docs.filter((d): d is Stored<EmailActivity> => !!d && matches(d.doc, q)), continuationToken: page.continuationToken };
}

export const emailReadRoutes = [
  defineRoute({
    name: "emailsList", method: "GET", route: "emails", role: "admin",
    summary: "List email activities by mailbox, direction, status or conversation", query,
    success: { status: 200, schema: listOf(emailView) },
    handle: async ({ services, query: q }) => {
      const page = await list(services, q);
      return json(200, { items: page.items.map((s) => toEmailView(s.doc, s.etag)), continuationToken: page.continuationToken });
    },
  }),
  defineRoute({
    name: "emailsGet", method: "GET", route: "emails/{id}", role: "admin",
    summary: "Read one email activity",
    success: { status: 200, schema: emailView },
    handle: async ({ services, params }) => {
      const s = await services.emails.require(params.id ?? "");
      return entity(200, toEmailView(s.doc, s.etag));
    },
  }),
  defineRoute({
    name: "emailsRaw", method: "GET", route: "emails/{id}/raw", role: "admin",
    summary: "The message bytes exactly as fetched or sent (message/rfc822)",
    success: { status: 200, description: "The raw message" },
    handle: async ({ services, params }) => {
      const { doc } = await services.emails.require(params.id ?? "");
      if (!doc.rawBlob) throw notFound("The raw message of this email (it has not been composed yet)");
      // Small messages keep their bytes beside the activity (decision 0029), larger ones in a blob.
      const inline = doc.rawInline ? await services.emails.readSidecar(doc.id) : undefined;
      if (doc.rawInline && !inline) throw notFound("The raw message of this email");
      const body = inline ? Readable.from([inline]) : await services.raw.download(doc.rawBlob);
      // A web stream works under both hosts; the bytes are streamed, never buffered here.
      return { status: 200, body: Readable.toWeb(body) as ReadableStream<Uint8Array>, headers: { "content-type": "message/rfc822", "content-length": String(doc.sizeBytes) } };
    },
  }),
];
