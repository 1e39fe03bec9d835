/**
 * @module Routes: queue an outgoing email, cancel a pending send.
 */
import { defineRoute } from "../shared/http/route.js";
import { entity } from "../shared/http/responses.js";
import { emailCreate, emailView, idempotencyKey, toEmailView } from "../shared/domain/email.js";
import { createOutgoingEmail } from "../shared/sync/outgoing/createEmail.js";
import { cancelOutgoingEmail } from "../shared/sync/outgoing/cancelEmail.js";

export const emailSendRoutes = [
  defineRoute({
    name: "emailsCreate", method: "POST", route: "emails", role: "admin",
    summary: "Queue an email for sending from a mailbox (status pendingSend)", body: emailCreate,
    headers: [{
      name: "Idempotency-Key", schema: idempotencyKey,
      description: "Optional. A retry with the same key and body answers with the email the first request created " +
        "(header Idempotent-Replayed: true) instead of creating and sending a second one; the same key with a different body is 422.",
    }],
    success: { status: 201, schema: emailView },
    errors: [{ status: 422, description: "IDEMPOTENCY_KEY_REUSED: the Idempotency-Key created another email from a different request" }],
    handle: async ({ services, body, headers }) => {
      const { saved, replayed } = await createOutgoingEmail(services, body, headers["Idempotency-Key"]);
      return entity(201, toEmailView(saved.doc, saved.etag), replayed ? { "idempotent-replayed": "true" } : {});
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
