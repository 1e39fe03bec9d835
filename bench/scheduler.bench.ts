/**
 * Benchmark: what one scheduler tick reads to find the due mailboxes, the due index against the
 * obvious peer (read every mailbox, keep the due ones), measured in the same run on one Azurite.
 *   npm run bench -- 3000        (mailbox count; default 3000)
 * Prints a Markdown row per size for docs/benchmarks.md.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { startAzurite } from "../shared/runtime/azurite.js";
import { loadAppSettings } from "../shared/config/appSettings.js";
import { createServices } from "../shared/runtime/services.js";
import { createLogger } from "../shared/runtime/logger.js";
import { EMPTY_STATS, NEW_DIRECTION, type Mailbox } from "../shared/domain/mailbox.js";

const N = Number(process.argv[2] ?? 3000);
const INTERVAL_MS = 5 * 60_000;

async function inBatches<T>(items: T[], size: number, run: (t: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(run));
}

const azurite = await startAzurite();
try {
  const services = await createServices(
    loadAppSettings({ AzureWebJobsStorage: azurite.connectionString, LOCAL_SECRETS_KEY: randomBytes(32).toString("base64") }),
    { log: createLogger({ level: "silent" }) },
  );
  const now = new Date("2026-11-22T10:00:00.000Z");
  const mailboxes: Mailbox[] = Array.from({ length: N }, (_, i) => ({
    id: randomUUID(), createdAt: "", updatedAt: "", owner: { type: "queue", id: `q${i}` }, emailAddress: `m${i}@bench.test`,
    profileId: "p", incomingMethod: "serverSideSync", outgoingMethod: "none", credentials: null, active: true, isForwardMailbox: false,
    deleteEmailsAfterProcessing: false, processEmailReceivedAfter: null, incomingFilter: "all", approval: "approved",
    // Polled at spread-out times over the last interval: about 1 in 5 is due one minute from now.
    incoming: { ...NEW_DIRECTION, status: "success", enabled: true, lastSyncAt: new Date(now.getTime() - Math.floor((i / N) * INTERVAL_MS)).toISOString() },
    outgoing: { ...NEW_DIRECTION },
    stats: { ...EMPTY_STATS },
  }));
  let t = performance.now();
  await inBatches(mailboxes, 32, (m) => services.repos.mailboxes.create(m));
  await inBatches(mailboxes, 32, (m) => services.due.schedule("incoming", m.id, new Date(Date.parse(m.incoming.lastSyncAt!) + INTERVAL_MS)));
  console.error(`setup: ${N} mailboxes in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const at = new Date(now.getTime() + 60_000);
  const rounds = 5;
  let indexMs = 0, indexRows = 0, scanMs = 0, scanRows = 0, dueByScan = 0;
  for (let r = 0; r < rounds; r++) {
    t = performance.now();
    const due = await services.due.due("incoming", at, 100_000);
    indexMs += performance.now() - t;
    indexRows = due.length;

    t = performance.now();
    let token: string | undefined;
    let rows = 0, found = 0;
    do {
      const page = await services.repos.mailboxes.list({ top: 1000, continuationToken: token });
      rows += page.items.length;
      found += page.items.filter(({ doc }) => Date.parse(doc.incoming.lastSyncAt ?? "") + INTERVAL_MS <= at.getTime()).length;
      token = page.continuationToken ?? undefined;
    } while (token);
    scanMs += performance.now() - t;
    scanRows = rows;
    dueByScan = found;
  }
  if (indexRows !== dueByScan) throw new Error(`the two disagree: index ${indexRows}, scan ${dueByScan}`);
  const ms = (x: number): string => (x / rounds).toFixed(0);
  console.log(`| ${N} | ${indexRows} | ${indexRows} | ${ms(indexMs)} | ${scanRows} | ${ms(scanMs)} | ${(scanMs / indexMs).toFixed(1)}x |`);
} finally {
  await azurite.stop();
}
