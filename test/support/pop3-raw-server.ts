/**
 * @module A bare TCP server for POP3 tests that need replies no well-behaved server would send
 * (garbage, endless lines, a TLS port that never handshakes). The test scripts each connection.
 */
import net from "node:net";

export interface RawServer {
  port: number;
  close(): Promise<void>;
}

export async function startRawServer(onConnection: (socket: net.Socket) => void): Promise<RawServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("not listening");
  return {
    port: address.port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port with nothing listening: bind, note the port, close. */
export async function closedPort(): Promise<number> {
  const server = await startRawServer(() => {});
  await server.close();
  return server.port;
}
