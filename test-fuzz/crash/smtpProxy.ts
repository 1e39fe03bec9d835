/**
 * @module A plain-TCP proxy in front of the test SMTP server that reads the client's side as SMTP
 * commands: each command line is one command, and the message data from the 354 reply up to and
 * including the end-of-data marker (CRLF.CRLF, RFC 5321 §4.1.1.4) is one more ("<end of data>").
 * Once armed it numbers them and, at command N:
 *   killBefore  SIGKILL the child; command N never reaches the server (for the end of data: the
 *               server sees the data cut off without its marker and discards it).
 *   killAfter   forward it, wait for the server's reply, SIGKILL the child before the reply
 *               reaches it (for the end of data: the server has taken the message, 250).
 * It also records the Message-ID of every message whose end-of-data marker the client wrote,
 * forwarded or not: after that point decision 0004 allows "failed, SEND_OUTCOME_UNKNOWN".
 * Nodemailer waits for each reply before the next command (no PIPELINING), which this relies on.
 */
import net from "node:net";

export const PROTOCOL_MODES = ["killBefore", "killAfter"] as const;
export type ProtocolMode = (typeof PROTOCOL_MODES)[number];

export interface ProtocolPlan {
  at: number;
  mode: ProtocolMode;
}

const MARKER = Buffer.from("\r\n.\r\n");
export const END_OF_DATA = "<end of data>";
const VERBS = new Set(["EHLO", "HELO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "RSET", "NOOP", "QUIT"]);

export function messageIdOf(bytes: Buffer): string | undefined {
  const head = bytes.subarray(0, Math.max(0, bytes.indexOf("\r\n\r\n"))).toString("latin1");
  return /^Message-ID:\s*(<[^>\r\n]+>)/im.exec(head)?.[1];
}

export class SmtpCrashProxy {
  readonly commands: string[] = [];
  /** Message-IDs whose end-of-data marker the client wrote while armed. */
  readonly markersWritten = new Set<string>();
  fired: string | undefined;
  kill: () => void = () => undefined;
  private armed = false;
  private plan: ProtocolPlan | undefined;
  private readonly sockets = new Set<net.Socket>();
  private server: net.Server | undefined;

  private constructor(private readonly upstreamPort: number) {}

  static async start(upstreamPort: number): Promise<SmtpCrashProxy> {
    const p = new SmtpCrashProxy(upstreamPort);
    p.server = net.createServer((client) => p.connection(client));
    await new Promise<void>((resolve) => p.server?.listen(0, "127.0.0.1", resolve));
    return p;
  }

  get port(): number {
    return (this.server?.address() as net.AddressInfo).port;
  }

  arm(plan: ProtocolPlan | undefined, kill: () => void): void {
    this.armed = true;
    this.plan = plan;
    this.kill = kill;
  }

  disarm(): void {
    this.armed = false;
    this.plan = undefined;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private connection(client: net.Socket): void {
    const server = net.connect(this.upstreamPort, "127.0.0.1");
    for (const s of [client, server]) {
      this.sockets.add(s);
      s.on("error", () => undefined);
      s.on("close", () => { this.sockets.delete(s); client.destroy(); server.destroy(); });
    }
    let input = Buffer.alloc(0);
    let inData = false;
    /** Set while a forwarded command awaits its reply before the child is killed. */
    let killOnReply = false;
    let replyTail = "";

    server.on("data", (chunk: Buffer) => {
      const text = replyTail + chunk.toString("latin1");
      const lines = text.split("\r\n");
      replyTail = lines.pop() ?? "";
      // The last line of a reply has a space after the code (RFC 5321 §4.2.1).
      const final = lines.filter((l) => /^\d{3}( |$)/.test(l));
      if (final.some((l) => l.startsWith("354"))) inData = true;
      if (killOnReply && final.length > 0) {
        this.kill();
        client.destroy();
        server.destroy();
        return;
      }
      client.write(chunk);
    });

    const command = (name: string, bytes: Buffer): boolean => {
      if (!this.armed) return true;
      const n = this.commands.push(name);
      if (this.plan?.at !== n) return true;
      const mode = this.plan.mode;
      this.fired = `${mode} at #${n}: ${name}`;
      this.disarm();
      if (mode === "killBefore") {
        this.kill();
        client.destroy();
        server.destroy();
        return false;
      }
      killOnReply = true;
      server.write(bytes);
      return false;
    };

    client.on("data", (chunk: Buffer) => {
      input = Buffer.concat([input, chunk]);
      for (;;) {
        if (inData) {
          // The body begins right after the 354, so a marker at its very start has no leading CRLF.
          const at = input.subarray(0, 3).equals(MARKER.subarray(2)) ? -2 : input.indexOf(MARKER);
          if (at === -1) return;
          const bytes = input.subarray(0, at + MARKER.length);
          input = input.subarray(at + MARKER.length);
          inData = false;
          if (this.armed) {
            const id = messageIdOf(bytes);
            if (id) this.markersWritten.add(id);
          }
          if (!command(END_OF_DATA, bytes)) return;
          server.write(bytes);
          continue;
        }
        const at = input.indexOf("\r\n");
        if (at === -1) return;
        const bytes = input.subarray(0, at + 2);
        input = input.subarray(at + 2);
        const line = bytes.toString("latin1").trimEnd();
        // AUTH PLAIN's response and AUTH LOGIN's lines carry the password: name them only.
        const verb = /^[A-Za-z]+/.exec(line)?.[0].toUpperCase() ?? "";
        const name = VERBS.has(verb) ? verb : "<auth line>";
        if (!command(name, bytes)) return;
        server.write(bytes);
      }
    });
  }
}
