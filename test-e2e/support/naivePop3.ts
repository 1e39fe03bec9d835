/**
 * An independent reference for "the bytes Dovecot serves": a deliberately simple POP3 reader that
 * waits for each whole reply before looking at it (no streaming, no cleverness), over implicit TLS.
 */
import tls from "node:tls";

/** Logs in with USER/PASS, or with AUTH XOAUTH2 (the blob after the "+ " challenge) given an access token. */
export async function fetchAllNaively(opts: { host: string; port: number; ca: Buffer; user: string; password?: string; accessToken?: string }): Promise<Map<string, Buffer>> {
  const socket = tls.connect({ host: opts.host, port: opts.port, ca: opts.ca, servername: "localhost" });
  let buf = Buffer.alloc(0);
  socket.on("data", (d: Buffer) => { buf = Buffer.concat([buf, d]); });
  const waitFor = async (end: string, status = "+OK"): Promise<Buffer> => {
    for (let i = 0; i < 2000; i++) {
      const at = buf.indexOf(end);
      if (at >= 0) {
        const reply = buf.subarray(0, at + end.length);
        buf = buf.subarray(at + end.length);
        if (reply.subarray(0, status.length).toString() !== status) throw new Error(`POP3 said ${reply.toString().slice(0, 80)}`);
        return reply;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error("naive POP3 reader timed out");
  };
  const cmd = async (line: string, multi: boolean): Promise<Buffer> => {
    socket.write(`${line}\r\n`);
    const reply = await waitFor(multi ? "\r\n.\r\n" : "\r\n");
    return reply;
  };
  await waitFor("\r\n");
  if (opts.accessToken !== undefined) {
    socket.write("AUTH XOAUTH2\r\n");
    await waitFor("\r\n", "+ ");
    await cmd(Buffer.from(`user=${opts.user}\x01auth=Bearer ${opts.accessToken}\x01\x01`).toString("base64"), false);
  } else {
    await cmd(`USER ${opts.user}`, false);
    await cmd(`PASS ${opts.password ?? ""}`, false);
  }
  const uidl = (await cmd("UIDL", true)).toString("latin1").split("\r\n").slice(1, -2);
  const out = new Map<string, Buffer>();
  for (const line of uidl) {
    const [n, uid] = line.split(" ");
    const reply = await cmd(`RETR ${n}`, true);
    // Whole reply in hand: drop the status line and the terminator, then undo dot-stuffing per line.
    const body = reply.subarray(reply.indexOf("\r\n") + 2, reply.length - 3).toString("latin1");
    const lines = body.split("\r\n").map((l) => (l.startsWith(".") ? l.slice(1) : l));
    out.set(uid!, Buffer.from(lines.join("\r\n"), "latin1"));
  }
  socket.end("QUIT\r\n");
  return out;
}
