/**
 * @module RFC 1939 §3 multi-line responses at byte level: a line of the message that starts with
 * "." gets one more "." in front, and ".CRLF" ends the response. The message is CRLF lines already
 * (mailStore.ts), so lines start at offset 0 and after each CRLF; nothing else changes, whatever
 * the bytes (8-bit, NUL) are.
 */
const DOT = 0x2e;
const CR = 0x0d;
const LF = 0x0a;

export function dotStuff(message: Buffer): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < message.length; i++) {
    const lineStart = i === 0 || (message[i - 1] === LF && message[i - 2] === CR);
    if (lineStart && message[i] === DOT) {
      parts.push(message.subarray(start, i), Buffer.from("."));
      start = i;
    }
  }
  parts.push(message.subarray(start));
  return Buffer.concat(parts);
}

/** The whole multi-line body of a RETR reply, terminator included. */
export function multiLineBody(message: Buffer): Buffer {
  return Buffer.concat([dotStuff(message), Buffer.from(".\r\n")]);
}
