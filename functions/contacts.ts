/**
 * @module Routes: contacts, accounts and leads (the email-enabled records of the incoming filters).
 */
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { defineRoute } from "../shared/http/route.js";
import { entity, json, noContent } from "../shared/http/responses.js";
import { contactCreate, contactView, type Contact } from "../shared/domain/contact.js";
import { listOf, listQuery } from "../shared/domain/common.js";

const view = (c: Contact, etag: string) => ({ ...c, etag });

export const contactRoutes = [
  defineRoute({
    name: "contactsCreate", method: "POST", route: "contacts", role: "admin",
    summary: "Add a contact, account or lead", body: contactCreate,
    success: { status: 201, schema: contactView },
    handle: async ({ services, body }) => {
      const now = services.clock.now().toISOString();
      const saved = await services.repos.contacts.create({ id: randomUUID(), createdAt: now, updatedAt: now, ...body });
      return entity(201, view(saved.doc, saved.etag));
    },
  }),
  defineRoute({
    name: "contactsList", method: "GET", route: "contacts", role: "admin",
    summary: "List contacts, accounts and leads", query: listQuery,
    success: { status: 200, schema: listOf(contactView) },
    handle: async ({ services, query }) => {
      const page = await services.repos.contacts.list(query);
      return json(200, { items: page.items.map((s) => view(s.doc, s.etag)), continuationToken: page.continuationToken });
    },
  }),
  defineRoute({
    name: "contactsDelete", method: "DELETE", route: "contacts/{id}", role: "admin",
    summary: "Delete a contact",
    success: { status: 204, schema: z.undefined(), description: "Deleted" },
    handle: async ({ services, params, ifMatch }) => {
      const { doc } = await services.repos.contacts.require(params.id ?? "");
      await services.repos.contacts.delete(doc, ifMatch);
      return noContent();
    },
  }),
];
