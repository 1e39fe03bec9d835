/**
 * @module The sandbox's SMTP listener (submission, like port 587): the `smtp-server` package with
 * STARTTLS and AUTH PLAIN/LOGIN against the sandbox users. Every accepted recipient's copy goes
 * into the mail store (a sandbox address's maildrop or the catch-all); nothing is relayed.
 */
import { SMTPServer, type SMTPServerDataStream } from "smtp-server";
import { listenLoopback } from "./listen.js";
import { SANDBOX_LIMITS, type MailStore } from "./mailStore.js";

export interface SmtpListener {
  port: number;
  close(): Promise<void>;
}

async function readLimited(stream: SMTPServerDataStream): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    // The rest is read and dropped, so a too-large message never sits in memory whole.
    if (size <= SANDBOX_LIMITS.messageBytes) chunks.push(chunk as Buffer);
  }
  // smtp-server stops counting into memory at `size` and flags the stream instead.
  return stream.sizeExceeded || size > SANDBOX_LIMITS.messageBytes ? undefined : Buffer.concat(chunks);
}

export async function startSmtpListener(store: MailStore, tlsOptions: { cert: string; key: string }, port: number): Promise<SmtpListener> {
  const server = new SMTPServer({
    ...tlsOptions,
    name: "sandbox.test",
    banner: "email-sync sandbox SMTP (mail is kept here, never relayed)",
    authMethods: ["PLAIN", "LOGIN"],
    // RFC 4954 §4: no credentials before STARTTLS (loopback or not), as a real submission server.
    allowInsecureAuth: false,
    size: SANDBOX_LIMITS.messageBytes,
    disabledCommands: [],
    logger: false,
    onAuth(auth, _session, callback) {
      const ok = typeof auth.username === "string" && typeof auth.password === "string" && store.authenticate(auth.username, auth.password) !== undefined;
      callback(ok ? null : Object.assign(new Error("Invalid user name or password"), { responseCode: 535 }), ok ? { user: auth.username } : undefined);
    },
    onData(stream, session, callback) {
      readLimited(stream).then((raw) => {
        if (raw === undefined) return callback(Object.assign(new Error(`Message larger than ${SANDBOX_LIMITS.messageBytes} bytes`), { responseCode: 552 }));
        const result = store.deliverAll(session.envelope.rcptTo.map((r) => r.address), raw);
        if (!result.ok) return callback(Object.assign(new Error(result.error.message), { responseCode: result.error.code === "MAILDROP_FULL" ? 452 : 552 }));
        callback();
      }, (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))));
    },
  });
  server.on("error", () => undefined);
  const bound = await listenLoopback(server.server, port, "SMTP", "SANDBOX_SMTP_PORT");
  return { port: bound, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
