/**
 * @module The app in a child process, to be killed: it builds its services on the Storage
 * connection string it is given (the parent's crash proxies), says "ready", then runs one poll
 * or one send run when told and reports the result. Start-up (module loading, ensureStorage)
 * happens before the parent arms its proxies, so crash points fall inside the run itself.
 */
import { loadAppSettings } from "../../shared/config/appSettings.js";
import { createServices } from "../../shared/runtime/services.js";
import { createLogger } from "../../shared/runtime/logger.js";
import { pollMailbox } from "../../shared/sync/incoming/pollMailbox.js";
import { sendMailbox } from "../../shared/sync/outgoing/sendMailbox.js";

export interface RunOrder {
  run: "poll" | "send";
  mailboxId: string;
}

export type ChildReport = { ready: true } | { result: unknown } | { error: string };

const send = (report: ChildReport): Promise<void> => new Promise((resolve) => process.send?.(report, () => resolve()));

const services = await createServices(
  loadAppSettings({ AzureWebJobsStorage: process.env.CRASH_STORAGE ?? "", LOCAL_SECRETS_KEY: process.env.CRASH_SECRETS_KEY ?? "" }),
  { log: createLogger({ level: "silent" }) },
);
process.once("message", (order: RunOrder) => {
  const run = order.run === "poll" ? pollMailbox(services, order.mailboxId) : sendMailbox(services, order.mailboxId);
  run.then(
    async (result) => { await send({ result }); process.exit(0); },
    async (err: unknown) => { await send({ error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) }); process.exit(1); },
  );
});
await send({ ready: true });
