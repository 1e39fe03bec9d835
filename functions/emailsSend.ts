/**
 * @module Routes: queue an outgoing email, cancel a pending send.
 */
import { defineRoute } from "../shared/http/route.js";
import { entity } from "../shared/http/responses.js";
import { emailCreate, emailView, toEmailView } from "../shared/domain/email.js";
import { createOutgoingEmail } from "../shared/sync/outgoing/createEmail.js";
import { cancelOutgoingEmail } from "../shared/sync/outgoing/cancelEmail.js";

export const emailSendRoutes = [
  defineRoute({
    name: "emailsCreate", method: "POST", route: "emails", role: "admin",
    summary: "Queue an email for sending from a mailbox (status pendingSend)", body: emailCreate,
    success: { status: 201, schema: emailView },
    handle: async ({ services, body }) => {
      const saved = await createOutgoingEmail(services, body);
      return entity(201, toEmailView(saved.doc, saved.etag));
    },
  }),
  defineRoute({
    name: "emailsCancel", method: "POST", route: "emails/{id}/cancel", role: "admin",
    summary: "Cancel a pending send (409 once it is sending or done)",
    success: { status: 200, schema: emailView },
    handle: async ({ services, params, ifMatch }) => {
      const saved = await cancelOutgoingEmail(services, params.id ?? "", ifMatch);
      return entity(200, toEmailView(saved.doc, saved.etag));
    },
  }),
];
