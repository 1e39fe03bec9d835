/**
 * @module The digest that tells copies of one message from a different message that reuses its
 * Message-ID. Copies delivered to several mailboxes differ in the trace headers each server adds
 * on top (Received, Return-Path, Delivered-To: RFC 5321 §4.4), never in the body, so the digest
 * is the SHA-256 of the bytes after the header section; a message without a body section is
 * digested whole. Computed while the message streams to Blob Storage: no second read.
 */
import { createHash, type Hash } from "node:crypto";

const LF = 0x0a;
const CR = 0x0d;

export class ContentDigest {
  private readonly body: Hash = createHash("sha256");
  /** Bytes of the current header line so far (CR not counted), until the empty line is found. */
  private lineLength = 0;
  private inBody = false;

  /** Feed every chunk of the message, in order. */
  readonly update = (chunk: Buffer): void => {
    if (this.inBody) {
      this.body.update(chunk);
      return;
    }
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (byte === LF) {
        if (this.lineLength === 0) {
          this.inBody = true;
          this.body.update(chunk.subarray(i + 1));
          return;
        }
        this.lineLength = 0;
      } else if (byte !== CR) {
        this.lineLength++;
      }
    }
  };

  /** The body's digest, or `wholeSha256` when the message has no body section. */
  digest(wholeSha256: string): string {
    return this.inBody ? this.body.digest("hex") : wholeSha256;
  }
}
