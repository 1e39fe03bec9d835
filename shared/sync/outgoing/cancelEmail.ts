/**
 * @module `POST /api/emails/{id}/cancel`. A cancel and a send race on the email's ETag: the
 * sender's commit (pendingSend -> sending) is conditional on the ETag it read, so a cancel that
 * lands first stops the send before the end of data, and one that lands after finds `sending`
 * and gets 409.
 */
import { conflict } from "../../errors.js";
import type { EmailActivity } from "../../domain/email.js";
import type { Services } from "../../runtime/services.js";
import type { Stored } from "../../storage/documentTable.js";

export async function cancelOutgoingEmail(services: Services, id: string, ifMatch: string | undefined): Promise<Stored<EmailActivity>> {
  return services.emails.update(id, (e) => {
    if (e.direction !== "outgoing" || e.status !== "pendingSend") {
      throw conflict(`Only a pending send can be canceled; this email is ${e.direction} and ${e.status}.`);
    }
    return { ...e, status: "canceled", nextAttemptAt: null, updatedAt: services.clock.now().toISOString() };
  }, ifMatch);
}
