/**
 * A scriptable SMTP server for the outgoing tests: the real `smtp-server` package on 127.0.0.1:0
 * with the test certificates, made to refuse (4xx/5xx), refuse recipients, drop the connection
 * mid-data or after the end of data, or stall after it. It records every complete message it
 * received, with the exact bytes (dot-unstuffed by smtp-server) and whether it said 250.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from "smtp-server";

const tlsFile = (name: string): Buffer => readFileSync(fileURLToPath(new URL(`../../fixtures/tls/${name}`, import.meta.url)));
export const TEST_CA = tlsFile("ca.crt");

export type DataMode = "accept" | "reject4xx" | "reject5xx" | "dropMidData" | "dropAfterData" | "stallAfterData";

export interface ScriptedOptions {
  tls: "implicit" | "starttls" | "none";
  /** `untrusted`: a self-signed certificate no CA vouches for. */
  cert?: "trusted" | "untrusted";
  users?: Record<string, string>;
}

export interface Received {
  from: string;
  to: string[];
  bytes: Buffer;
  sha256: string;
  /** The server answered 250 to the end of data. */
  accepted: boolean;
}

const smtpError = (code: number, text: string): Error => Object.assign(new Error(text), { responseCode: code });

export class ScriptedSmtpServer {
  dataMode: DataMode = "accept";
  /** Recipients answered 550 (or 450 when in `deferRcpt`). */
  refuseRcpt = new Set<string>();
  deferRcpt = new Set<string>();
  received: Received[] = [];
  connections = 0;
  logins: string[] = [];
  port = 0;
  private readonly server: SMTPServer;

  constructor(readonly options: ScriptedOptions) {
    const users = options.users ?? { alice: "alice-pw" };
    const cert = options.cert === "untrusted" ? "untrusted" : "server";
    this.server = new SMTPServer({
      secure: options.tls === "implicit",
      ...(options.tls === "none" ? { disabledCommands: ["STARTTLS"], allowInsecureAuth: true } : { key: tlsFile(`${cert}.key`), cert: tlsFile(`${cert}.crt`) }),
      authMethods: ["PLAIN", "LOGIN"],
      disableReverseLookup: true,
      logger: false,
      closeTimeout: 100,
      onConnect: (_session, cb) => { this.connections++; cb(); },
      onAuth: (auth, _session, cb) => {
        this.logins.push(`${auth.method}:${auth.username ?? ""}`);
        if (auth.username && users[auth.username] === auth.password) cb(null, { user: auth.username });
        else cb(smtpError(535, "5.7.8 Authentication credentials invalid"));
      },
      onRcptTo: (address, _session, cb) => {
        if (this.refuseRcpt.has(address.address)) return cb(smtpError(550, `5.1.1 <${address.address}>: Recipient address rejected`));
        if (this.deferRcpt.has(address.address)) return cb(smtpError(450, `4.2.0 <${address.address}>: try again later`));
        cb();
      },
      onData: (stream, session, cb) => this.onData(stream, session, cb),
    });
    // A client refusing the certificate or dropping mid-session is what these tests provoke.
    this.server.on("error", () => undefined);
  }

  static async start(options: ScriptedOptions): Promise<ScriptedSmtpServer> {
    const s = new ScriptedSmtpServer(options);
    await new Promise<void>((resolve) => s.server.listen(0, "127.0.0.1", () => resolve()));
    s.port = (s.server.server.address() as net.AddressInfo).port;
    return s;
  }

  delivered(): Received[] {
    return this.received.filter((r) => r.accepted);
  }

  private dropClient(session: SMTPServerSession): void {
    for (const c of this.server.connections) if (c.id === session.id) c._socket.destroy();
  }

  private onData(stream: SMTPServerDataStream, session: SMTPServerSession, cb: (err?: Error | null) => void): void {
    const chunks: Buffer[] = [];
    const mode = this.dataMode;
    stream.on("data", (c: Buffer) => {
      chunks.push(c);
      if (mode === "dropMidData" && chunks.length === 1) this.dropClient(session);
    });
    stream.on("end", () => {
      const bytes = Buffer.concat(chunks);
      const env = session.envelope;
      const record = (accepted: boolean): void => {
        this.received.push({
          from: env.mailFrom ? env.mailFrom.address : "", to: env.rcptTo.map((r) => r.address), bytes,
          sha256: createHash("sha256").update(bytes).digest("hex"), accepted,
        });
      };
      if (mode === "dropMidData") return;
      if (mode === "accept") { record(true); return cb(); }
      record(false);
      if (mode === "reject4xx") return cb(smtpError(451, "4.3.0 Temporary failure, try again"));
      if (mode === "reject5xx") return cb(smtpError(554, "5.7.1 Message refused by policy"));
      if (mode === "dropAfterData") return this.dropClient(session);
      // stallAfterData: never answer; the client's socket timeout ends it.
    });
  }

  async close(): Promise<void> {
    for (const c of this.server.connections) c._socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Accepts connections and never says a word (a server that stalls before its greeting). */
export async function startSilentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => { sockets.add(s); s.on("error", () => undefined); });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}
