/**
 * @module Reading a message off the POP3 connection so the next one can download while it is
 * processed (pollMailbox.ts pipelining). The connection yields one message at a time: its bytes
 * must be consumed before the next reply is read. A small message is buffered whole; a large one
 * (or one that grows past the limit, whatever LIST said) comes back as a stream of what was read
 * plus the rest, to be processed in line without holding it in memory.
 */
import { Readable } from "node:stream";

export interface TakenMessage {
  /** The whole message is in memory; `source` replays it. */
  small: boolean;
  source: Readable;
}

export async function takeSmall(stream: Readable, limitBytes: number): Promise<TakenMessage> {
  const chunks: Buffer[] = [];
  let size = 0;
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  for (;;) {
    const next = await it.next();
    if (next.done) return { small: true, source: Readable.from([Buffer.concat(chunks, size)]) };
    chunks.push(next.value);
    size += next.value.length;
    if (size > limitBytes) break;
  }
  async function* rest(): AsyncGenerator<Buffer> {
    yield* chunks;
    for (let next = await it.next(); !next.done; next = await it.next()) yield next.value;
  }
  return { small: false, source: Readable.from(rest(), { objectMode: false }) };
}
