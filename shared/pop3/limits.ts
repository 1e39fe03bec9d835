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
