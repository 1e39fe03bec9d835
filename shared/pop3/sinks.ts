/**
 * @module Where multi-line bodies go: a streaming Readable for RETR (backpressure pauses the
 * socket), and a bounded collector for the short listings (CAPA, LIST, UIDL).
 */
import { Readable } from "node:stream";
import { AppError } from "../errors.js";
import type { BodySink } from "./framer.js";
import { BODY_STREAM_HIGH_WATER_MARK, MAX_LISTING_BYTES } from "./limits.js";

/**
 * One message body, exactly the bytes the server stored. The connection pauses the socket while
 * `backpressured`, and resumes when the consumer reads (`_read`). Destroying the stream early is
 * allowed: the connection keeps reading and drops the rest, so later replies stay in step.
 */
export class BodyStream extends Readable implements BodySink {
  private received = 0;

  constructor(
    private readonly maxBytes: number,
    /** Called when the consumer wants more, or gave up (destroyed): the connection may resume. */
    private readonly onDemand: (stream: BodyStream) => void,
  ) {
    super({ highWaterMark: BODY_STREAM_HIGH_WATER_MARK });
    // A pipelined body can fail (connection lost) before anyone holds the stream; without a
    // listener that 'error' would be an uncaught exception. Consumers still see it: for-await,
    // pipeline() and their own 'error' listeners all receive it, and `errored` keeps it.
    this.on("error", () => {});
  }

  get backpressured(): boolean {
    return !this.destroyed && this.readableLength >= this.readableHighWaterMark;
  }

  override _read(): void {
    this.onDemand(this);
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    callback(err);
    this.onDemand(this); // nobody reads any more: let the rest of the body flow into the void
  }

  write(chunk: Buffer): void {
    this.received += chunk.length;
    if (this.received > this.maxBytes) {
      throw new AppError("PROTOCOL_LIMIT_EXCEEDED", `The message is larger than the ${this.maxBytes}-byte limit.`);
    }
    if (!this.destroyed) this.push(chunk);
  }

  end(): void {
    if (!this.destroyed) this.push(null);
  }
}

/** Collects a short listing and splits it into lines (latin1: lossless for any byte). */
export class ListingSink implements BodySink {
  private readonly chunks: Buffer[] = [];
  private size = 0;

  write(chunk: Buffer): void {
    this.size += chunk.length;
    if (this.size > MAX_LISTING_BYTES) {
      throw new AppError("PROTOCOL_LIMIT_EXCEEDED", `A POP3 listing is larger than ${MAX_LISTING_BYTES} bytes.`);
    }
    this.chunks.push(chunk);
  }

  end(): void {}

  lines(): string[] {
    const text = Buffer.concat(this.chunks).toString("latin1");
    const lines = text.split("\r\n");
    if (lines[lines.length - 1] === "") lines.pop();
    return lines;
  }
}
