/**
 * @module Test-server helpers for what goes on the wire: dot-stuffing a stored message into a
 * RETR reply (RFC 1939 §3), and writing a reply in pieces to force a chosen TCP segmentation.
 */
import type net from "node:net";
import { setImmediate as nextTurn, setTimeout as sleep } from "node:timers/promises";

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const CRLF_DOT = Buffer.from("\r\n.");

/**
 * "+OK ..." CRLF, the stuffed message, then ".CRLF". Like real servers, a non-empty message that
 * does not end with CRLF gets one, so the terminator starts a line.
 */
export function retrReply(status: string, message: Buffer): Buffer {
  const out: Buffer[] = [Buffer.from(`${status}\r\n`)];
  let runStart = 0;
  if (message[0] === DOT) out.push(Buffer.from("."));
  // Only lines that start with a dot change, so jump from one "CRLF ." to the next.
  for (let at = message.indexOf(CRLF_DOT); at !== -1; at = message.indexOf(CRLF_DOT, at + 2)) {
    out.push(message.subarray(runStart, at + 2), Buffer.from("."));
    runStart = at + 2;
  }
  out.push(message.subarray(runStart));
  const endsWithCrlf = message.length >= 2 && message[message.length - 2] === CR && message[message.length - 1] === LF;
  out.push(Buffer.from(endsWithCrlf || message.length === 0 ? ".\r\n" : "\r\n.\r\n"));
  return Buffer.concat(out);
}

/** How replies are cut into separate socket writes (each piece should arrive in its own read). */
export type SplitMode =
  | "none"
  | "every-byte"
  /** Cut positions within the reply, e.g. around its last 5 bytes to split the end marker. */
  | ((reply: Buffer, command: string) => number[]);

export interface WriteOptions {
  split: SplitMode;
  /** Pause between pieces; 0 means one event-loop turn (setImmediate). */
  splitDelayMs: number;
}

const CHUNK = 64 * 1024;

function pieces(reply: Buffer, command: string, split: SplitMode): Buffer[] {
  if (split === "none") {
    const out: Buffer[] = [];
    for (let i = 0; i < reply.length; i += CHUNK) out.push(reply.subarray(i, i + CHUNK));
    return out;
  }
  const cuts = split === "every-byte" ? Array.from({ length: reply.length - 1 }, (_, i) => i + 1) : split(reply, command);
  const sorted = [...new Set(cuts)].filter((c) => c > 0 && c < reply.length).sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const cut of [...sorted, reply.length]) {
    out.push(reply.subarray(from, cut));
    from = cut;
  }
  return out;
}

/** Writes `reply`, honouring backpressure; `onDrainWait` counts each wait for 'drain'. */
export async function writeReply(socket: net.Socket, reply: Buffer, command: string, o: WriteOptions, onDrainWait: () => void): Promise<void> {
  const parts = pieces(reply, command, o.split);
  for (let i = 0; i < parts.length; i++) {
    if (socket.destroyed) return;
    const part = parts[i] ?? Buffer.alloc(0);
    // After the last piece the reply is out of our hands; waiting for 'drain' there would make the
    // server look busy after the client could already have read the reply.
    if (!socket.write(part) && i < parts.length - 1) {
      onDrainWait();
      await new Promise<void>((resolve) => {
        const done = (): void => {
          socket.removeListener("drain", done);
          socket.removeListener("close", done);
          resolve();
        };
        socket.once("drain", done);
        socket.once("close", done);
      });
    }
    if (o.split !== "none" && i < parts.length - 1) {
      await (o.splitDelayMs > 0 ? sleep(o.splitDelayMs) : nextTurn());
    }
  }
}
