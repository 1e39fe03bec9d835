/**
 * @module The sandbox's POP3 listener: plain with STLS (like port 110), over the shared mail store.
 */
import net from "node:net";
import tls from "node:tls";
import { listenLoopback } from "./listen.js";
import type { MailStore } from "./mailStore.js";
import { Pop3SandboxSession } from "./pop3Session.js";

export interface Pop3Listener {
  port: number;
  close(): Promise<void>;
}

export async function startPop3Listener(store: MailStore, tlsOptions: { cert: string; key: string }, port: number): Promise<Pop3Listener> {
  const secureContext = tls.createSecureContext({ ...tlsOptions, minVersion: "TLSv1.2" });
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    new Pop3SandboxSession(socket, store, secureContext);
  });
  const bound = await listenLoopback(server, port, "POP3", "SANDBOX_POP3_PORT");
  return {
    port: bound,
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
