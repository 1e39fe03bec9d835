/**
 * A Dovecot instance of the benches' own (bench:ingest), beside the e2e one: its own users,
 * Maildirs (/var/mail-bench), passwd-file and ports, so bench mail never meets the e2e tests' users
 * and an e2e run of scripts/e2e/setup.sh (which rewrites its passwd-file) cannot remove bench users
 * mid-run. It reuses what setup.sh made: the Dovecot packages, the vmail user and the TLS
 * certificate signed by the e2e CA (run setup.sh first; mailServers() does when root).
 * Needs root. Started on free ports; stop() stops it (only the instance this process started).
 */
import { execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "../../shared/runtime/azurite.js";
import { mailServers } from "../../test-e2e/support/mailServers.js";

const STATE = "/var/lib/email-sync-bench";
const MAIL_ROOT = "/var/mail-bench";
const BASE_DIR = "/run/dovecot-bench";
export const BENCH_PASSWORD = "bench-pop3-pw";

export interface BenchDovecot {
  host: string;
  pop3Port: number;
  pop3sPort: number;
  /** PEM of the CA that signed the certificate (the e2e CA) and its file. */
  ca: Buffer;
  caFile: string;
  stop(): Promise<void>;
}

function id(flag: string, name: string): number {
  return Number(execFileSync("id", [flag, name]).toString().trim());
}

function alive(pidFile: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile, "utf8").trim());
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z") ? undefined : pid;
  } catch {
    return undefined;
  }
}

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => { s.destroy(); resolve(true); });
    s.once("error", () => resolve(false));
  });
}

/** Starts (or restarts) the bench Dovecot with `users` (each gets an empty Maildir if it has none). */
export async function startBenchDovecot(users: string[]): Promise<BenchDovecot> {
  if (process.getuid?.() !== 0) throw new Error("bench:ingest runs its own Dovecot: run it as root");
  const e2e = mailServers(); // runs scripts/e2e/setup.sh when the e2e servers were never set up
  const caFile = join(STATE, "ca.crt");
  const tls = dirname(readFileSync("/var/lib/email-sync-e2e/e2e.env", "utf8").match(/^E2E_CA=(.*)$/m)?.[1] ?? "/var/lib/email-sync-e2e/tls/ca.crt");
  mkdirSync(STATE, { recursive: true });
  writeFileSync(caFile, e2e.ca);
  const vuid = id("-u", "vmail"), vgid = id("-g", "vmail");
  for (const u of users) for (const sub of ["cur", "new", "tmp"]) mkdirSync(join(MAIL_ROOT, u, "Maildir", sub), { recursive: true });
  execFileSync("chown", ["-R", "vmail:vmail", MAIL_ROOT]);
  writeFileSync(join(STATE, "users"), users.map((u) => `${u}:{PLAIN}${BENCH_PASSWORD}::::::\n`).join(""));
  execFileSync("chown", ["root:dovecot", join(STATE, "users")]);
  execFileSync("chmod", ["0640", join(STATE, "users")]);

  const pop3Port = await freePort(), pop3sPort = await freePort();
  const conf = join(STATE, "dovecot.conf");
  writeFileSync(conf, `# Written by bench/support/benchDovecot.ts: the benches' own Dovecot, beside the e2e one.
base_dir = ${BASE_DIR}
instance_name = dovecot-bench
protocols = pop3
listen = 127.0.0.1
log_path = /var/log/dovecot-bench.log
ssl = yes
ssl_cert = <${tls}/server.crt
ssl_key = <${tls}/server.key
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login
first_valid_uid = ${vuid}
mail_location = maildir:~/Maildir
pop3_uidl_format = %08Xu%08Xv
mail_max_userip_connections = 64
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n ${STATE}/users
}
userdb {
  driver = static
  args = uid=${vuid} gid=${vgid} home=${MAIL_ROOT}/%n
}
service pop3-login {
  inet_listener pop3 {
    port = ${pop3Port}
  }
  inet_listener pop3s {
    port = ${pop3sPort}
    ssl = yes
  }
}
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
`);
  const pidFile = join(BASE_DIR, "master.pid");
  const running = alive(pidFile);
  if (running) {
    process.kill(running, "SIGTERM"); // a bench Dovecot left by an earlier bench run (ours)
    for (let i = 0; i < 100 && alive(pidFile); i++) await sleep(50);
  }
  rmSync(pidFile, { force: true });
  execFileSync("dovecot", ["-c", conf], { stdio: ["ignore", "ignore", "inherit"] });
  for (let i = 0; i < 200 && !((await listening(pop3Port)) && (await listening(pop3sPort))); i++) await sleep(50);
  if (!(await listening(pop3sPort))) throw new Error(`the bench Dovecot does not listen on ${pop3sPort}; see /var/log/dovecot-bench.log`);
  return {
    host: "127.0.0.1", pop3Port, pop3sPort, ca: e2e.ca, caFile,
    stop: async () => {
      const pid = alive(pidFile);
      if (!pid) return;
      process.kill(pid, "SIGTERM");
      for (let i = 0; i < 100 && alive(pidFile); i++) await sleep(50);
    },
  };
}

export interface Delivered {
  user: string;
  /** sha256 (hex) of each message as stored, in delivery order. */
  digests: string[];
  bytes: number;
}

/**
 * Makes `user`'s Maildir hold exactly `messages` (regenerated only when what is there differs:
 * Dovecot keeps UIDLs stable while the files stay). Files go to cur/ with CRLF line ends, so
 * Dovecot serves them byte for byte as stored.
 */
export function fillMaildir(user: string, messages: Buffer[]): Delivered {
  const cur = join(MAIL_ROOT, user, "Maildir", "cur");
  const digests = messages.map((m) => createHash("sha256").update(m).digest("hex"));
  const manifest = join(MAIL_ROOT, user, "bench-manifest");
  const want = digests.join("\n");
  const present = existsSync(cur) ? readdirSync(cur).length : -1;
  if (!(existsSync(manifest) && readFileSync(manifest, "utf8") === want && present === messages.length)) {
    const dir = join(MAIL_ROOT, user, "Maildir");
    rmSync(dir, { recursive: true, force: true });
    for (const sub of ["cur", "new", "tmp"]) mkdirSync(join(dir, sub), { recursive: true });
    const vuid = id("-u", "vmail"), vgid = id("-g", "vmail");
    const t = Math.floor(Date.now() / 1000);
    messages.forEach((m, i) => {
      const file = join(cur, `${t}.M${i}P${process.pid}.bench,S=${m.length}:2,`);
      writeFileSync(file, m, { mode: 0o600 });
      chownSync(file, vuid, vgid);
    });
    for (const sub of ["", "cur", "new", "tmp"]) chownSync(join(dir, sub), vuid, vgid);
    writeFileSync(manifest, want);
  }
  return { user, digests, bytes: messages.reduce((n, m) => n + m.length, 0) };
}
