/**
 * @module Retrieves several messages in order, pipelining the RETR commands when the server
 * advertises PIPELINING (RFC 2449 §6.6), one at a time otherwise.
 *
 *   for await (const { msgNo, stream } of retrieveMany(conn, [3, 4, 5])) await upload(stream);
 *
 * The loop body must consume or destroy `stream` before the next iteration: the next reply comes
 * after this body on the wire. Whatever the body left unread is destroyed when the loop moves on
 * (the connection then drops the rest of that message). Leaving the loop early (break, throw)
 * drops the RETRs already sent; a "-ERR" to one RETR ends the loop with that error, and the
 * connection stays usable.
 */
import type { Readable } from "node:stream";
import { retr } from "./commands/retr.js";
import { checkMsgNo } from "./commands/run.js";
import type { Pop3Connection } from "./connection.js";
import { PIPELINE_WINDOW } from "./limits.js";

export interface RetrievedMessage {
  msgNo: number;
  /** Exactly the bytes the server stored (see commands/retr.ts). */
  stream: Readable;
}

interface InFlight {
  msgNo: number;
  result: Promise<Readable>;
}

export interface RetrieveManyOptions {
  /**
   * Asked before each new RETR goes out; false ends the loop cleanly once the messages already
   * requested have been yielded, so the connection stays usable (DELE, QUIT). Use it to stop at
   * a time budget instead of `break`, which has to drop the connection.
   */
  more?: () => boolean;
}

export async function* retrieveMany(conn: Pop3Connection, msgNos: readonly number[], options: RetrieveManyOptions = {}): AsyncGenerator<RetrievedMessage, void, undefined> {
  msgNos.forEach(checkMsgNo);
  const more = options.more ?? ((): boolean => true);
  // Without pipelining the connection still writes one command at a time; queueing the next RETR
  // early just lets it go out the moment the previous body ends.
  const ahead = conn.pipelining ? PIPELINE_WINDOW : 1;
  const inFlight: InFlight[] = [];
  let next = 0;
  const fill = (): void => {
    while (next < msgNos.length && inFlight.length < ahead && more()) {
      const msgNo = msgNos[next++] ?? 0;
      const result = retr(conn, msgNo);
      result.catch(() => {}); // observed when its turn comes; never an unhandled rejection meanwhile
      inFlight.push({ msgNo, result });
    }
  };
  let current: Readable | undefined;
  try {
    fill();
    for (let item = inFlight.shift(); item !== undefined; item = inFlight.shift()) {
      fill();
      current = await item.result;
      yield { msgNo: item.msgNo, stream: current };
      if (!current.readableEnded) current.destroy();
      current = undefined;
    }
  } finally {
    if (current?.readableEnded === false) current.destroy();
    for (const rest of inFlight) rest.result.then((s) => s.destroy(), () => {});
  }
}
