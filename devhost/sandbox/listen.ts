/**
 * @module Binding a sandbox listener: loopback only, on the port asked for (0 = a free one), with
 * a message that says what to do when the port is taken.
 */
import type { Server } from "node:net";

/** The only interface sandbox listeners bind to: nothing off this machine can reach them. */
export const SANDBOX_HOST = "127.0.0.1";

export function listenLoopback(server: Pick<Server, "listen" | "once" | "off" | "address">, port: number, what: string, setting: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new Error(err.code === "EADDRINUSE"
        ? `The sandbox ${what} port ${port} is already in use; stop what listens there, set ${setting} to another port (0 = any free one), or MAIL_SANDBOX=off.`
        : `The sandbox ${what} cannot listen on ${SANDBOX_HOST}:${port}: ${err.message}`));
    };
    server.once("error", onError);
    server.listen(port, SANDBOX_HOST, () => {
      server.off("error", onError);
      const address = server.address();
      resolve(typeof address === "object" && address !== null ? address.port : port);
    });
  });
}
