/**
 * @module The message as a stream whose end waits for the commit. nodemailer writes the end of
 * data (CRLF.CRLF) only once its source stream ends, and a server takes responsibility for a
 * message only on receiving that marker (RFC 5321 §4.1.1.4, §6.1): data cut off before it is
 * discarded. So the commit (the email turns `sending` under its ETag) happens before any server
 * can have the message, and when the commit fails the marker is never written.
 */
import { Readable } from "node:stream";

export function gatedMessage(bytes: Buffer, commit: () => Promise<void>): Readable {
  let pushed = false;
  let committing = false;
  return new Readable({
    read() {
      if (!pushed) {
        pushed = true;
        this.push(bytes);
        return;
      }
      // Asked for more after every byte was handed over: only the end is left.
      if (committing) return;
      committing = true;
      commit().then(
        () => this.push(null),
        (err: unknown) => this.destroy(err instanceof Error ? err : new Error(String(err))),
      );
    },
  });
}
