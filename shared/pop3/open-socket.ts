/**
 * @module Opens the TCP or implicit-TLS socket, and upgrades a plain one after STLS.
 * Both are bounded by connectTimeoutMs, cut short by what is left of the session's deadline, and
 * classify failures (see socket-errors.ts).
 */
import net from "node:net";
import tls from "node:tls";
import { AppError, isAppError } from "../errors.js";
import { guardedLookup, hostRefused, literalHostProblem } from "../net/hostPolicy.js";
import { timerMs, type SessionDeadline } from "./deadline.js";
import type { ResolvedPop3Options } from "./options.js";
import { classifySocketError, timedOut } from "./socket-errors.js";

type TlsOptions = Pick<ResolvedPop3Options, "host" | "allowUntrustedCertificates" | "ca">;

function tlsOptions(o: TlsOptions): tls.ConnectionOptions {
  return {
    // SNI must be a host name; Node verifies the certificate against `host` either way.
    servername: net.isIP(o.host) === 0 ? o.host : undefined,
    rejectUnauthorized: !o.allowUntrustedCertificates,
    ca: o.ca === undefined ? undefined : [...tls.rootCertificates, ...(Array.isArray(o.ca) ? o.ca : [o.ca])],
  };
}

/**
 * Waits for `readyEvent`, or fails with a classified error. Errors before TCP is up are network
 * errors; after it (implicit TLS, or STLS) they belong to the handshake.
 */
function whenReady<T extends net.Socket>(socket: T, readyEvent: string, tcpUp: boolean, timeoutMs: number, deadline: SessionDeadline): Promise<T> {
  return new Promise((resolve, reject) => {
    let connected = tcpUp;
    const isTls = socket instanceof tls.TLSSocket;
    const left = deadline.remainingMs();
    const done = (err?: AppError): void => {
      clearTimeout(timer);
      socket.removeListener("error", onError);
      socket.removeListener("close", onClose);
      socket.removeListener("connect", onConnect);
      socket.removeListener(readyEvent, onReady);
      if (err === undefined) {
        // Until the connection attaches its own handler (a microtask later), an 'error' must
        // not be an uncaught exception; the connection still learns of it through 'close'.
        socket.on("error", () => {});
        return resolve(socket);
      }
      socket.destroy();
      reject(err);
    };
    const onConnect = (): void => void (connected = true);
    const onReady = (): void => done();
    // A refused address (hostPolicy.ts) arrives already classified, from the lookup.
    const onError = (err: unknown): void => done(isAppError(err) ? err : classifySocketError(err, connected && isTls ? "tls" : "connect"));
    const onClose = (): void => done(classifySocketError(new Error("closed"), connected && isTls ? "tls" : "connect"));
    // Whichever ends first: this step's own timeout, or the session's overall deadline.
    const timer = left < timeoutMs
      ? setTimeout(() => done(deadline.expire(tcpUp ? "STLS" : "(connect)")), timerMs(left))
      : setTimeout(() => done(timedOut(isTls ? "connect and TLS handshake" : "connect")), timerMs(timeoutMs));
    socket.once("connect", onConnect);
    socket.once(readyEvent, onReady);
    socket.once("error", onError);
    socket.once("close", onClose);
  });
}

/** Never a link-local or metadata address: an address literal is checked here, a name's answer in the lookup. */
export function openSocket(o: ResolvedPop3Options, deadline: SessionDeadline): Promise<net.Socket> {
  const refused = literalHostProblem(o.host);
  if (refused) return Promise.reject(hostRefused(refused, "POP3 server"));
  const lookup = guardedLookup("POP3 server");
  if (o.useSsl) {
    const socket = tls.connect({ host: o.host, port: o.port, lookup, ...tlsOptions(o) });
    return whenReady(socket, "secureConnect", false, o.connectTimeoutMs, deadline);
  }
  const socket = net.connect({ host: o.host, port: o.port, lookup });
  return whenReady(socket, "connect", false, o.connectTimeoutMs, deadline);
}

/** RFC 2595 §4: the TLS handshake starts right after the "+OK" to STLS. */
export function upgradeSocket(plain: net.Socket, o: ResolvedPop3Options, deadline: SessionDeadline): Promise<tls.TLSSocket> {
  const socket = tls.connect({ socket: plain, host: o.host, ...tlsOptions(o) });
  return whenReady(socket, "secureConnect", true, o.connectTimeoutMs, deadline);
}
