/**
 * Benchmark: what one POP3 poll costs in Storage transactions (billed per request, and what a
 * Table partition's throughput is counted in), read off the wire: the app talks to Azurite through
 * small HTTP proxies that count requests per service. Counts are exact, not timings, so one run
 * is enough. The mailbox keeps its messages on the server (the default), like most mailboxes.
 *   npm run bench:cost -- 2000      (messages kept in the mailbox; default 1000)
 * Prints a Markdown table for docs/benchmarks.md.
 */
import { randomBytes } from "node:crypto";
import { connectionStringFor, startAzurite } from "../shared/runtime/azurite.js";
import { loadAppSettings } from "../shared/config/appSettings.js";
import { createServices } from "../shared/runtime/services.js";
import { createLogger } from "../shared/runtime/logger.js";
import { createProfile } from "../shared/admin/profiles.js";
import { createMailbox } from "../shared/admin/mailboxes.js";
import { pollMailbox } from "../shared/sync/incoming/pollMailbox.js";
import { Pop3TestServer } from "../test/support/pop3-server.js";import { startCountingProxies, type Service } from "./support/countingProxy.js";


const KEPT = Number(process.argv[2] ?? 1000);

const counts: Record<Service, number> = { blob: 0, queue: 0, table: 0 };


const message = (i: number): Buffer =>
  Buffer.from(`Message-ID: <cost-${i}@bench.test>\r\nFrom: s${i}@fabrikam.test\r\nTo: support@contoso.test\r\nSubject: cost ${i}\r\n\r\nhello ${i}\r\n`);

async function measured(label: string, run: () => Promise<unknown>): Promise<string> {
  const before = { ...counts };
  const result = await run();
  const d = { blob: counts.blob - before.blob, queue: counts.queue - before.queue, table: counts.table - before.table };
  const total = d.blob + d.queue + d.table;
  return `| ${label} | ${d.table} | ${d.blob} | ${d.queue} | ${total} | ${JSON.stringify(result)} |`;
}

const azurite = await startAzurite();
const proxies = await startCountingProxies(azurite, counts);
const pop3 = await Pop3TestServer.start({ messages: Array.from({ length: KEPT }, (_, i) => message(i)), pipelining: true });
try {
  const { blob, queue, table } = proxies.ports;
  const services = await createServices(
    loadAppSettings({ AzureWebJobsStorage: connectionStringFor(blob, queue, table), LOCAL_SECRETS_KEY: randomBytes(32).toString("base64") }),
    { log: createLogger({ level: "silent" }) },
  );
  const profile = await createProfile(services, {
    name: "Cost", incoming: { host: "127.0.0.1", port: pop3.port, useSsl: false }, outgoing: { host: "127.0.0.1", port: 2525, useSsl: false },
    allowCredentialsOverInsecureChannels: true, minPollingIntervalMinutes: 0,
  });
  const created = await createMailbox(services, {
    owner: { type: "queue", id: "q-cost" }, emailAddress: "support@contoso.test", profileId: profile.doc.id,
    credentials: { userName: "alice", password: "s3cret-Pa55" }, incomingFilter: "all",
  });
  const mailbox = await services.repos.mailboxes.update(created.doc.id, (m) => ({ ...m, approval: "approved", incoming: { ...m.incoming, enabled: true, status: "success" } }));
  const id = mailbox.doc.id;
  const poll = (): Promise<unknown> => pollMailbox(services, id, { maxMessages: 100_000 }).then((r) => r.status);

  const rows: string[] = [];
  rows.push(await measured(`first poll, ${KEPT.toLocaleString("en-US")} new messages`, poll));
  rows.push(await measured(`empty poll, ${KEPT.toLocaleString("en-US")} kept on the server`, poll));
  pop3.maildrop.push({ uid: `uid-${KEPT + 1}`, body: message(KEPT) });
  rows.push(await measured("poll with 1 new message among them", poll));
  rows.push(await measured("empty poll again", poll));
  // The peer: the same poll without the checkpoint, as a design without one (or a run that died
  // before saving it) does it: one marker read per message kept on the server.
  await services.raw.delete(`state/incoming/${id}.json`);
  rows.push(await measured("peer: empty poll without the checkpoint", poll));
  rows.push(await measured("empty poll after it (checkpoint rebuilt)", poll));
  console.log(`\nStorage requests per poll, ${KEPT.toLocaleString("en-US")} messages kept on the POP3 server, ${new Date().toISOString().slice(0, 10)}\n`);
  console.log("| poll | table | blob | queue | total | result |");
  console.log("| --- | --- | --- | --- | --- | --- |");
  for (const r of rows) console.log(r);
} finally {
  await pop3.close();
  await proxies.close();
  await azurite.stop();
}
