/**
 * @module Routes: email server profiles.
 */
import { z } from "zod";
import { defineRoute } from "../shared/http/route.js";
import { entity, json, noContent } from "../shared/http/responses.js";
import { profileCreate, profilePatch, profileView, toProfileView } from "../shared/domain/profile.js";
import { listOf, listQuery } from "../shared/domain/common.js";
import { createProfile, deleteProfile, updateProfile } from "../shared/admin/profiles.js";

const byId = "profiles/{id}";

export const profileRoutes = [
  defineRoute({
    name: "profilesCreate", method: "POST", route: "profiles", role: "admin",
    summary: "Create an email server profile", body: profileCreate,
    success: { status: 201, schema: profileView },
    handle: async ({ services, body }) => {
      const saved = await createProfile(services, body);
      return entity(201, toProfileView(saved.doc, saved.etag));
    },
  }),
  defineRoute({
    name: "profilesList", method: "GET", route: "profiles", role: "admin",
    summary: "List email server profiles", query: listQuery,
    success: { status: 200, schema: listOf(profileView) },
    handle: async ({ services, query }) => {
      const page = await services.repos.profiles.list(query);
      return json(200, { items: page.items.map((s) => toProfileView(s.doc, s.etag)), continuationToken: page.continuationToken });
    },
  }),
  defineRoute({
    name: "profilesGet", method: "GET", route: byId, role: "admin",
    summary: "Read one profile",
    success: { status: 200, schema: profileView },
    handle: async ({ services, params }) => {
      const s = await services.repos.profiles.require(params.id ?? "");
      return entity(200, toProfileView(s.doc, s.etag));
    },
  }),
  defineRoute({
    name: "profilesPatch", method: "PATCH", route: byId, role: "admin",
    summary: "Change a profile; connection changes send its mailboxes back to Test & Enable; moving a stored secret to another target needs it re-entered or the approver role", body: profilePatch,
    success: { status: 200, schema: profileView },
    handle: async ({ services, params, body, ifMatch, caller }) => {
      // An approver may move stored secrets to a new target without re-entry (a server migration).
      const saved = await updateProfile(services, params.id ?? "", body, ifMatch, { mayRepointSecrets: caller?.roles.has("approver") ?? false });
      return entity(200, toProfileView(saved.doc, saved.etag));
    },
  }),
  defineRoute({
    name: "profilesDelete", method: "DELETE", route: byId, role: "admin",
    summary: "Delete a profile that no mailbox uses",
    success: { status: 204, schema: z.undefined(), description: "Deleted" },
    handle: async ({ services, params, ifMatch }) => {
      await deleteProfile(services, params.id ?? "", ifMatch);
      return noContent();
    },
  }),
];
