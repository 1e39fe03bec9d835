/**
 * Benchmark: what hostile mail costs per message against clean mail of the same count, through
 * the real poll (pollMailbox: POP3 from the in-process test server, raw blob, parse, activity,
 * marker) on Azurite. DESIGN.md 9 says every byte of mail is hostile; this checks that capping it
 * keeps the cost of a poll near that of ordinary mail (goal: within 3x per message).
 *   npm run bench:hostile -- [perClass=5] [rounds=3]
 * The hostile corpus is perClass messages of each of the twelve classes of test-e2e/hostileMail
 * (interleaved, plus the ordinary message whose Message-ID each reused one takes); the clean
 * corpus is as many ordinary messages. Each case gets a fresh mailbox and fresh Message-IDs, so
 * every message is new. Storage requests are counted by small HTTP proxies in front of Azurite, as
 * in bench/pollCost.bench.ts. An empty poll is measured in each round and its cost subtracted, so
 * the figures are per message. Rounds take turns; medians are printed as a Markdown table for
 * docs/benchmarks.md, with one row per class for where the cost goes. A poll that fails says so:
 * its figures then cover only what it did before failing.
 */
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { connectionStringFor, startAzurite } from "../shared/runtime/azurite.js";
import { loadAppSettings } from "../shared/config/appSettings.js";
import { createServices, type Services } from "../shared/runtime/services.js";
import { createLogger } from "../shared/runtime/logger.js";
import { createProfile } from "../shared/admin/profiles.js";
import { createMailbox } from "../shared/admin/mailboxes.js";
import { pollMailbox } from "../shared/sync/incoming/pollMailbox.js";
import { Pop3TestServer } from "../test/support/pop3-server.js";import { startCountingProxies, type Service } from "./support/countingProxy.js";


const PER_CLASS = Number(process.argv[2] ?? 5);
const ROUNDS = Number(process.argv[3] ?? 3);
/** As in the e2e test: the 4 MiB message is over it, the 2 MiB line under it. */
const MAX_MESSAGE_SIZE_KB = 3072;

const counts: Record<Service, number> = { blob: 0, queue: 0, table: 0 };
const total = (): number => counts.blob + counts.queue + counts.table;


// --- corpora ------------------------------------------------------------------------------------
const latin1 = (s: string): Buffer => Buffer.from(s, "latin1");
const mail = (headers: string[], body: string[]): Buffer => latin1([...headers, "", ...body].join("\r\n") + "\r\n");
const DATE = `Date: ${new Date().toUTCString()}`;
const TO = "To: support@contoso.test";

/** An ordinary message: a few headers and about 2 KB of text. */
const clean = (id: string): Buffer => mail(
  [`Message-ID: <${id}@fabrikam.test>`, `From: "Customer" <customer@fabrikam.test>`, TO, `Subject: Quote request ${id}`, DATE, "Content-Type: text/plain; charset=utf-8"],
  Array.from({ length: 30 }, (_, i) => `Line ${i} of an ordinary message asking for a quote on item ${id}.`),
);

const head = (id: string, ...more: string[]): string[] => [
  ...(more.some((h) => h.startsWith("Message-ID:")) ? [] : [`Message-ID: <${id}@fabrikam.test>`]), "From: mallory@fabrikam.test", TO, DATE, ...more,
];
function nested(): string[] {
  const out: string[] = [];
  for (let d = 0; d < 99; d++) out.push(`--b${d}`, `Content-Type: multipart/mixed; boundary="b${d + 1}"`, "");
  out.push("--b99", "Content-Type: text/plain", "", "the bottom of the nest", "--b99--");
  for (let d = 98; d >= 0; d--) out.push(`--b${d}--`);
  return out;
}
function attachments(): string[] {
  const out: string[] = [];
  for (let i = 0; i < 200; i++) {
    const name = `${String(i).padStart(3, "0")}-${"n".repeat(992)}.txt`;
    out.push("--att", `Content-Type: text/plain; name="${name}"`, `Content-Disposition: attachment; filename="${name}"`, "Content-Transfer-Encoding: base64", "", Buffer.from(`attachment ${i}\n`).toString("base64"));
  }
  return [...out, "--att--"];
}

/** The twelve classes of test-e2e/hostileMail.test.ts; `id` is unique per message. */
const CLASSES: Record<string, (id: string) => Buffer> = {
  "subject-250k": (id) => mail(head(id, `Subject: ${"long subject ".repeat(20_834).slice(0, 250_000)}`), ["a very long subject"]),
  "message-id-600": (id) => mail(head(id, `Message-ID: <${`${id}/a\\b#c?d`.repeat(40).slice(0, 584)}@fabrikam.test>`, "Subject: a hostile Message-ID"), ["key material"]),
  "tracking-token-400": (id) => mail(head(id, `Subject: RE: your order CRM:${"7".repeat(400)}`), ["a token no one issued"]),
  "references-5000": (id) => mail(head(id, "Subject: five thousand references", `In-Reply-To: <ref-4999-${id}@fabrikam.test>`,
    `References: ${Array.from({ length: 5000 }, (_, i) => `<ref-${i}-${id}@fabrikam.test>`).join("\r\n ")}`), ["a long thread"]),
  "recipients-3000": (id) => mail([...head(id, "Subject: three thousand recipients").filter((h) => h !== TO),
    `To: support@contoso.test,\r\n ${Array.from({ length: 2999 }, (_, i) => `r${i}@fabrikam.test`).join(",\r\n ")}`], ["to everyone"]),
  "attachments-200": (id) => mail(head(id, "Subject: two hundred attachments", "MIME-Version: 1.0", 'Content-Type: multipart/mixed; boundary="att"'), attachments()),
  "nul-8bit-headers": (id) => mail(head(id, "Subject: caf\xe9 \x00nul\x00 \xff\xfe\x80", "X-Binary: \x00\x01\x02\x7f\x80\x81\xc3\x28"), ["body after NULs"]),
  "not-a-message": (id) => latin1(`This is not an email at all\r\nno headers and no separator ${id}\r\n\x01\x02\x03 binary\r\n`),
  "mime-depth-100": (id) => mail(head(id, "Subject: nested one hundred deep", "MIME-Version: 1.0", 'Content-Type: multipart/mixed; boundary="b0"'), nested()),
  "line-2mib": (id) => mail(head(id, "Subject: one line of two MiB"), ["x".repeat(2 * 1024 * 1024)]),
  "oversize-4mib": (id) => mail(head(id, "Subject: over maxMessageSizeKb"), Array.from({ length: 65_536 }, (_, i) => `${String(i).padStart(8, "0")} ${"o".repeat(53)}`)),
  // The Message-ID of an ordinary message just before it in the same corpus (see messagesOf), on other bytes.
  "reused-message-id": (id) => mail(head(id, `Message-ID: <${id}-orig@fabrikam.test>`, "Subject: not the original"), ["different content"]),
};

/** One message of class `c`; the reused Message-ID comes after the ordinary message it reuses. */
const messagesOf = (c: string, id: string): Buffer[] => (c === "reused-message-id" ? [clean(`${id}-orig`), CLASSES[c]!(id)] : [CLASSES[c]!(id)]);

interface Corpus { name: string; messages: Buffer[] }

/** The hostile mix (every class, interleaved), a clean corpus of the same count, and each class alone. */
function corpora(tag: string): Corpus[] {
  const names = Object.keys(CLASSES);
  const mix = Array.from({ length: PER_CLASS }, (_, i) => names.flatMap((c) => messagesOf(c, `${tag}-mix-${c}-${i}`))).flat();
  return [
    { name: "empty", messages: [] },
    { name: "clean", messages: Array.from({ length: mix.length }, (_, i) => clean(`${tag}-clean-${i}`)) },
    { name: "hostile (all classes)", messages: mix },
    ...names.map((c) => ({ name: c, messages: Array.from({ length: PER_CLASS }, (_, i) => messagesOf(c, `${tag}-${c}-${i}`)).flat() })),
  ];
}

// --- one measured poll --------------------------------------------------------------------------
interface Sample { ms: number; requests: number; table: number; blob: number; outcome: string }

let mailboxNo = 0;
async function measure(services: Services, corpus: Corpus): Promise<Sample> {
  const pop3 = await Pop3TestServer.start({ messages: corpus.messages, pipelining: true });
  try {
    const n = ++mailboxNo;
    const profile = await createProfile(services, {
      name: `Hostile ${n}`, incoming: { host: "127.0.0.1", port: pop3.port, useSsl: false }, outgoing: { host: "127.0.0.1", port: 2525, useSsl: false },
      allowCredentialsOverInsecureChannels: true, minPollingIntervalMinutes: 0,
    });
    const created = await createMailbox(services, {
      owner: { type: "queue", id: `q-hostile-${n}` }, emailAddress: `support${n}@contoso.test`, profileId: profile.doc.id,
      credentials: { userName: "alice", password: "s3cret-Pa55" }, incomingFilter: "all",
    });
    const id = (await services.repos.mailboxes.update(created.doc.id, (m) => ({ ...m, approval: "approved", incoming: { ...m.incoming, enabled: true, status: "success" } }))).doc.id;
    const before = { ...counts, all: total() };
    const t0 = performance.now();
    const result = await pollMailbox(services, id, { maxMessages: 100_000 });
    const ms = performance.now() - t0;
    const stats = (await services.repos.mailboxes.get(id))?.doc.stats;
    const outcome = result.status === "done"
      ? `${stats?.received ?? 0} received, ${stats?.quarantined ?? 0} quarantined, ${stats?.skipped ?? 0} skipped`
      : `poll ${result.status}${"code" in result ? ` ${result.code}` : ""} after ${(stats?.received ?? 0) + (stats?.quarantined ?? 0)} of ${corpus.messages.length}`;
    return { ms, requests: total() - before.all, table: counts.table - before.table, blob: counts.blob - before.blob, outcome };
  } finally {
    await pop3.close();
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const azurite = await startAzurite();
const proxies = await startCountingProxies(azurite, counts);
try {
  const { blob, queue, table } = proxies.ports;
  const services = await createServices(
    loadAppSettings({ AzureWebJobsStorage: connectionStringFor(blob, queue, table), LOCAL_SECRETS_KEY: randomBytes(32).toString("base64") }),
    { log: createLogger({ level: "silent" }) },
  );
  await services.settings.update((s) => ({ ...s, maxMessageSizeKb: MAX_MESSAGE_SIZE_KB }), undefined, new Date());
  // Warm-up (connections, tables, code paths), not counted.
  await measure(services, { name: "warm-up", messages: Array.from({ length: 5 }, (_, i) => clean(`warm-${i}`)) });

  const samples = new Map<string, Sample[]>();
  const sizes = new Map<string, { n: number; bytes: number }>();
  for (let r = 0; r < ROUNDS; r++) {
    for (const corpus of corpora(`r${r}-${randomBytes(3).toString("hex")}`)) {
      sizes.set(corpus.name, { n: corpus.messages.length, bytes: corpus.messages.reduce((a, m) => a + m.length, 0) });
      const s = await measure(services, corpus);
      samples.set(corpus.name, [...(samples.get(corpus.name) ?? []), s]);
      process.stderr.write(`round ${r + 1} ${corpus.name}: ${s.ms.toFixed(0)} ms, ${s.requests} requests, ${s.outcome}\n`);
    }
  }

  // Net of a poll's fixed cost (lease, slot, login, checkpoint, outcome), which is the same for
  // every corpus: what is left is what the messages themselves cost.
  const med = (name: string, f: (s: Sample) => number): number => median(samples.get(name)!.map(f));
  const fixed = { ms: med("empty", (s) => s.ms), req: med("empty", (s) => s.requests), table: med("empty", (s) => s.table), blob: med("empty", (s) => s.blob) };
  const perMessage = (name: string): { ms: number; req: number; table: number; blob: number } => {
    const n = sizes.get(name)!.n;
    return {
      ms: (med(name, (s) => s.ms) - fixed.ms) / n, req: (med(name, (s) => s.requests) - fixed.req) / n,
      table: (med(name, (s) => s.table) - fixed.table) / n, blob: (med(name, (s) => s.blob) - fixed.blob) / n,
    };
  };
  const base = perMessage("clean");
  console.log(`\nPer-message cost of a poll, median of ${ROUNDS} rounds, ${PER_CLASS} per class, maxMessageSizeKb ${MAX_MESSAGE_SIZE_KB}, ${new Date().toISOString().slice(0, 10)}`);
  console.log(`Net of a poll's fixed cost (an empty mailbox: ${fixed.ms.toFixed(0)} ms, ${fixed.req} requests).\n`);
  console.log("| corpus | messages | KB/message | ms/message | requests/message (table + blob) | ms vs clean | requests vs clean | outcome (last round) |");
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const [name, ss] of samples) {
    if (name === "empty") continue;
    const p = perMessage(name);
    const size = sizes.get(name)!;
    console.log(`| ${name} | ${size.n} | ${Math.round(size.bytes / size.n / 1024).toLocaleString("en-US")} | ${p.ms.toFixed(1)} | ${p.req.toFixed(1)} (${p.table.toFixed(1)} + ${p.blob.toFixed(1)}) | ${(p.ms / base.ms).toFixed(1)}x | ${(p.req / base.req).toFixed(1)}x | ${ss[ss.length - 1]!.outcome} |`);
  }
} finally {
  await proxies.close();
  await azurite.stop();
}
