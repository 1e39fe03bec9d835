/**
 * @module Named limits and default timeouts of the POP3 client.
 * Crossing a limit ends the connection with PROTOCOL_LIMIT_EXCEEDED: after an oversized line the
 * byte stream cannot be re-synchronised, so the only safe move is to drop it.
 */

/** TCP connect plus (implicit or STLS) TLS handshake. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;
/** From connected to the server's greeting line (RFC 1939 §4). */
export const DEFAULT_GREETING_TIMEOUT_MS = 30_000;
/**
 * Longest silence while a reply is awaited. The clock stops while the caller is slow to read a
 * message body (the socket is paused on purpose then), so slow uploads never time out here.
 */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
/**
 * Longest one whole session may last, from the start of connect to the end of QUIT. The timeouts
 * above restart on every byte, so on their own a server that drip-feeds one byte a second holds a
 * poll, and the function invocation running it, for ever. Nine minutes: just under host.json's
 * 10-minute functionTimeout, so a session that runs into it ends with a coded error its caller can
 * still record instead of being cut off by the host. This is only the safety net: callers with a
 * tighter budget (Test & Enable, a poll under its lease) pass their own `deadlineMs`.
 */
export const DEFAULT_SESSION_DEADLINE_MS = 9 * 60_000;
/**
 * Longest one reply other than a message body may take as a whole: the greeting, a status line
 * (RETR's included), a CAPA, LIST or UIDL listing. Without it a drip-fed status line or listing
 * would live until the session deadline. Two minutes: a status line is at most
 * MAX_REPLY_LINE_BYTES, and a UIDL listing of 100,000 messages (~3 MB) takes seconds over any
 * working link. A RETR body is bounded by the session deadline only: a large message legitimately
 * takes long, and the idle timeout still catches a server that stops sending it.
 */
export const DEFAULT_REPLY_DEADLINE_MS = 2 * 60_000;

/**
 * Status lines and listing lines (CAPA, LIST, UIDL). RFC 2449 §4 caps responses at 512 octets;
 * real servers stretch that with long IMPLEMENTATION strings, so we allow 8 times as much.
 */
export const MAX_REPLY_LINE_BYTES = 4096;
/** RFC 2449 §4: a command line is at most 255 octets including CRLF. */
export const MAX_COMMAND_LINE_BYTES = 255;
/** Total size of one CAPA/LIST/UIDL listing; ~100 bytes a line leaves room for ~1M messages. */
export const MAX_LISTING_BYTES = 100 * 1024 * 1024;
/**
 * Default safety net for one RETR body. Callers should skip large messages using LIST sizes
 * before RETR (see retr.ts); this only stops a server that sends far more than it announced.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

/** Bytes a message body stream buffers before the socket is paused (backpressure). */
export const BODY_STREAM_HIGH_WATER_MARK = 64 * 1024;
/**
 * Commands in flight at once when the server advertises PIPELINING (RFC 2449 §6.6). A bounded
 * window keeps our unsent commands and the server's unread replies from growing without limit.
 */
export const PIPELINE_WINDOW = 16;
