/**
 * The download-only contender of bench:ingest: a minimal POP3 reader of the bench's own (not the
 * product's client) that logs in over implicit TLS and sends every RETR before reading the replies
 * (RFC 2449 PIPELINING; Dovecot advertises it), over up to `connections` connections at once.
 * It keeps nothing: it counts messages and bytes (dot-unstuffed, as stored) and, when asked, hashes
 * each message, which is how the bench checks that Dovecot serves the Maildir files byte for byte.
 */
import { connect, type TLSSocket } from "node:tls";
import { createHash, type Hash } from "node:crypto";

export interface ReadJob {
  user: string;
  password: string;
  /** Message numbers to RETR (1-based); all of them when undefined. */
  msgNos?: number[];
}

export interface ReadResult {
  messages: number;
  bytes: number;
  /** user → sha256 of each message read, in message-number order (with `hash`). */
  digests: Map<string, string[]>;
}

interface Reply {
  resolve: (lines: Buffer[] | string) => void;
  reject: (err: Error) => void;
  multi: boolean;
}

/** One POP3 connection: commands are queued, replies are matched in order. */
class Connection {
  private buf: Buffer = Buffer.alloc(0);
  private readonly pending: Reply[] = [];
  private status: string | undefined;
  private lines: Buffer[] = [];

  private constructor(private readonly socket: TLSSocket) {
    socket.on("data", (d: Buffer) => this.feed(d));
    socket.on("error", (err: Error) => this.failAll(err));
    socket.on("close", () => this.failAll(new Error("connection closed")));
  }

  static async open(host: string, port: number, ca: Buffer): Promise<Connection> {
    const socket = connect({ host, port, ca: [ca], servername: "localhost" });
    await new Promise<void>((resolve, reject) => { socket.once("secureConnect", resolve); socket.once("error", reject); });
    const c = new Connection(socket);
    await c.expect(false); // greeting
    return c;
  }

  private failAll(err: Error): void {
    for (const p of this.pending.splice(0)) p.reject(err);
  }

  /** Waits for the next reply; `multi`: a multi-line one (after +OK). */
  private expect(multi: boolean): Promise<Buffer[] | string> {
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject, multi }));
  }

  private feed(data: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, data]) : data;
    let start = 0;
    for (;;) {
      const nl = this.buf.indexOf("\r\n", start);
      if (nl < 0) break;
      const line = this.buf.subarray(start, nl);
      start = nl + 2;
      const head = this.pending[0];
      if (!head) continue;
      if (this.status === undefined) {
        const text = line.toString("latin1");
        if (!text.startsWith("+OK")) {
          this.pending.shift();
          head.reject(new Error(`POP3: ${text}`));
          continue;
        }
        if (!head.multi) {
          this.pending.shift();
          head.resolve(text);
          continue;
        }
        this.status = text;
        this.lines = [];
        continue;
      }
      if (line.length === 1 && line[0] === 0x2e) {
        this.pending.shift();
        this.status = undefined;
        head.resolve(this.lines);
        this.lines = [];
        continue;
      }
      this.lines.push(line[0] === 0x2e ? line.subarray(1) : line);
    }
    this.buf = start >= this.buf.length ? Buffer.alloc(0) : Buffer.from(this.buf.subarray(start));
  }

  send(commands: string[], multi: boolean): Promise<Buffer[] | string>[] {
    const replies = commands.map(() => this.expect(multi));
    this.socket.write(commands.map((c) => `${c}\r\n`).join(""));
    return replies;
  }

  close(): void {
    this.socket.end();
    this.socket.destroy();
  }
}

async function readOne(host: string, port: number, ca: Buffer, job: ReadJob, hash: boolean, into: ReadResult): Promise<void> {
  const c = await Connection.open(host, port, ca);
  try {
    const [user, pass] = c.send([`USER ${job.user}`, `PASS ${job.password}`], false);
    await user; await pass;
    let msgNos = job.msgNos;
    if (!msgNos) {
      const stat = (await c.send(["STAT"], false)[0]) as string;
      const count = Number(stat.split(" ")[1]);
      msgNos = Array.from({ length: count }, (_, i) => i + 1);
    }
    const replies = c.send(msgNos.map((n) => `RETR ${n}`), true);
    const digests: string[] = [];
    for (const r of replies) {
      const lines = (await r) as Buffer[];
      let h: Hash | undefined = hash ? createHash("sha256") : undefined;
      let bytes = 0;
      for (const l of lines) {
        bytes += l.length + 2;
        h?.update(l).update("\r\n");
      }
      into.messages++;
      into.bytes += bytes;
      if (h) digests.push(h.digest("hex"));
      h = undefined;
    }
    if (hash) into.digests.set(job.user, [...(into.digests.get(job.user) ?? []), ...digests]);
    await c.send(["QUIT"], false)[0];
  } finally {
    c.close();
  }
}

/** Reads every job over at most `connections` connections at once. */
export async function pipelinedRead(host: string, port: number, ca: Buffer, jobs: ReadJob[], connections: number, hash = false): Promise<ReadResult> {
  const result: ReadResult = { messages: 0, bytes: 0, digests: new Map() };
  const queue = [...jobs];
  await Promise.all(Array.from({ length: Math.min(connections, jobs.length) }, async () => {
    for (let job = queue.shift(); job; job = queue.shift()) await readOne(host, port, ca, job, hash, result);
  }));
  return result;
}
