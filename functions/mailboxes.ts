/**
 * @module Routes: mailboxes, approval.
 */
import { z } from "zod";
import { defineRoute } from "../shared/http/route.js";
import { entity, json, noContent } from "../shared/http/responses.js";
import { MAILBOX_STATE_FIELDS, mailboxCreate, mailboxPatch, mailboxView, toMailboxView } from "../shared/domain/mailbox.js";
import { mailboxListQuery } from "../shared/domain/mailboxQuery.js";
import { listOf, listQuery } from "../shared/domain/common.js";
import { createMailbox, deleteMailbox, setApproval, updateMailbox } from "../shared/admin/mailboxes.js";
import { listMailboxes } from "../shared/admin/mailboxList.js";

const byId = "mailboxes/{id}";
const listQuerySchema = listQuery.extend(mailboxListQuery.shape).strict();

export const mailboxRoutes = [
  defineRoute({
    name: "mailboxesCreate", method: "POST", route: "mailboxes", role: "admin",
    summary: "Create a mailbox for a user or queue", body: mailboxCreate, readOnly: MAILBOX_STATE_FIELDS,
    success: { status: 201, schema: mailboxView },
    handle: async ({ services, body }) => {
      const saved = await createMailbox(services, body);
      return entity(201, toMailboxView(saved.doc, saved.etag));
    },
  }),
  defineRoute({
    name: "mailboxesList", method: "GET", route: "mailboxes", role: "admin",
    summary: "List mailboxes; the filters combine with AND (hasErrors: either direction failed or postponed now). A page may hold fewer than top items while continuationToken is set",
    query: listQuerySchema,
    success: { status: 200, schema: listOf(mailboxView) },
    handle: async ({ services, query }) => {
      const { top, continuationToken, ...filters } = query;
      const page = await listMailboxes(services, filters, { top, continuationToken });
      return json(200, { items: page.items.map((s) => toMailboxView(s.doc, s.etag)), continuationToken: page.continuationToken });
    },
  }),
  defineRoute({
    name: "mailboxesGet", method: "GET", route: byId, role: "admin",
    summary: "Read one mailbox with its sync status",
    success: { status: 200, schema: mailboxView },
    handle: async ({ services, params }) => {
      const s = await services.repos.mailboxes.require(params.id ?? "");
      return entity(200, toMailboxView(s.doc, s.etag));
    },
  }),
  defineRoute({
    name: "mailboxesPatch", method: "PATCH", route: byId, role: "admin",
    summary: "Change a mailbox; a new address, profile or credentials need Test & Enable again; moving its stored password to another target needs it re-entered or the approver role", body: mailboxPatch, readOnly: MAILBOX_STATE_FIELDS,
    success: { status: 200, schema: mailboxView },
    handle: async ({ services, params, body, ifMatch, caller }) => {
      // An approver may move stored secrets to a new target without re-entry (a server migration).
      const saved = await updateMailbox(services, params.id ?? "", body, ifMatch, { mayRepointSecrets: caller?.roles.has("approver") ?? false });
      return entity(200, toMailboxView(saved.doc, saved.etag));
    },
  }),
  defineRoute({
    name: "mailboxesDelete", method: "DELETE", route: byId, role: "admin",
    summary: "Delete a mailbox",
    success: { status: 204, schema: z.undefined(), description: "Deleted" },
    handle: async ({ services, params, ifMatch }) => {
      await deleteMailbox(services, params.id ?? "", ifMatch);
      return noContent();
    },
  }),
  defineRoute({
    name: "mailboxesApprove", method: "POST", route: `${byId}/approve`, role: "approver",
    summary: "Approve a mailbox's email address (approver role)",
    success: { status: 200, schema: mailboxView },
    handle: async ({ services, params, ifMatch }) => {
      const saved = await setApproval(services, params.id ?? "", "approved", ifMatch);
      return entity(200, toMailboxView(saved.doc, saved.etag));
    },
  }),
  defineRoute({
    name: "mailboxesReject", method: "POST", route: `${byId}/reject`, role: "approver",
    summary: "Reject a mailbox's email address (approver role)",
    success: { status: 200, schema: mailboxView },
    handle: async ({ services, params, ifMatch }) => {
      const saved = await setApproval(services, params.id ?? "", "rejected", ifMatch);
      return entity(200, toMailboxView(saved.doc, saved.etag));
    },
  }),
];
