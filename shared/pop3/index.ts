/**
 * @module The project's POP3 client (see docs/decisions/0001-pop3-client.md for why we own it).
 *
 *   const session = await Pop3Session.connect({ host, port: 995, useSsl: true, userName, password });
 *   const uids = await session.uidl();                  // [{ msgNo, uid }]
 *   const sizes = await session.list();                 // [{ msgNo, size }] - skip oversize here
 *   for await (const { msgNo, stream } of session.retrieveMany([3, 4, 5])) {
 *     await uploadToBlob(stream);                       // exact bytes; consume or destroy it
 *   }
 *   await session.deleMany([3, 4, 5]);                  // only marks (RFC 1939 §6)
 *   await session.quit();                               // commits the deletions
 *
 * Every failure is an AppError (shared/errors.ts) with a stable code, the failing command (never a
 * password or SASL response) and the server's reply line. Without useSsl the client upgrades with
 * STLS whenever offered, and sends no credentials in clear unless
 * allowCredentialsOverInsecureChannels is set (else TLS_REQUIRED). RETR bodies are streamed with
 * backpressure: memory stays bounded whatever the message size. OAuth accounts (Gmail,
 * Microsoft 365) log in with `authProtocol: "xoauth2"` and an `accessToken`; `auto` never picks it.
 * Time is bounded three ways: the idle timeout (silence), a whole-reply deadline for everything
 * but message bodies, and the session's overall `deadlineMs` from the start of connect
 * (`session.remainingMs` tells what is left); each ends in CONNECTION_TIMEOUT.
 */
export { Pop3Session } from "./session.js";
export type { Pop3AuthProtocol, Pop3ConnectOptions } from "./options.js";
export type { Pop3AuthMechanism } from "./authenticate.js";
export type { Pop3Capabilities } from "./commands/capa.js";
export type { MaildropStat } from "./commands/stat.js";
export type { ScanListing } from "./commands/list.js";
export type { UniqueIdListing } from "./commands/uidl.js";
export type { RetrievedMessage } from "./retrieve-many.js";
export {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_GREETING_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_REPLY_DEADLINE_MS,
  DEFAULT_SESSION_DEADLINE_MS,
} from "./limits.js";
