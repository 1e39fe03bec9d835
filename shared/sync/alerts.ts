/**
 * @module Raising alerts: honours the org's alert levels (a level switched off is not stored at
 * all), folds repeats of the same alert into one with a count, and with notifyMailboxOwner puts an
 * alert about a mailbox on its owner's wall too (GET /api/alerts?ownerType=&ownerId=).
 * Every message is cleaned of control characters and bounded here, whatever it quotes: server
 * replies are already cut short where they are quoted (quoteServer), this is the last guard.
 */
import type { AlertLevel } from "../domain/alert.js";
import type { Services } from "../runtime/services.js";
import type { NewAlert } from "../storage/alertStore.js";
import { MAX_ALERT_MESSAGE_CHARS, quoteServer } from "../net/quote.js";

export interface RaiseAlert extends NewAlert {
  level: AlertLevel;
  /** Repeats with the same key fold into one alert (count, lastAt). Defaults to level+code+subject. */
  foldKey?: string;
  /** A repeat of a folded alert changes nothing (not even its count): the fact has not changed. */
  once?: boolean;
}

export async function raiseAlert(services: Services, alert: RaiseAlert): Promise<void> {
  const { settings } = await services.settings.get();
  if (!settings.alerts[alert.level]) return;
  alert = { ...alert, message: quoteServer(alert.message, MAX_ALERT_MESSAGE_CHARS) };
  if (settings.alerts.notifyMailboxOwner && alert.mailboxId && alert.owner === undefined) {
    const owner = (await services.repos.mailboxes.get(alert.mailboxId).catch(() => undefined))?.doc.owner;
    alert = { ...alert, owner: owner ? { type: owner.type, id: owner.id } : null };
  }
  const foldKey = alert.foldKey ?? [alert.level, alert.code, alert.mailboxId ?? "", alert.profileId ?? "", alert.emailId ?? ""].join("|");
  try {
    const { foldKey: _k, once, ...fields } = alert;
    await services.alerts.add(fields, services.clock.now(), foldKey, { countRepeats: !once });
  } catch (err) {
    // An alert that cannot be stored must not fail the sync that raised it; the log keeps it.
    services.log.warn("alert not stored", { errorCode: alert.code, level: alert.level, mailboxId: alert.mailboxId, err });
  }
}
