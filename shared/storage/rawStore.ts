/**
 * @module Raw RFC 5322 bytes in Blob Storage (a table property holds at most 64 KiB). Uploads are
 * streamed with a bounded buffer and hashed on the way, so a 25 MiB message never sits in memory.
 * Most mail is small: a message that ends within the first MiB goes up in one request and its
 * bytes come back to the caller, which then parses them without downloading the blob again
 * (1 Storage request instead of 4: block, commit, properties, read; bench/pollCost.bench.ts).
 */
import { createHash } from "node:crypto";
import { Readable, Transform } from "node:stream";
import type { ContainerClient } from "@azure/storage-blob";
import { storageError } from "./documentTable.js";
import { isAppError } from "../errors.js";

export interface RawUpload {
  blobName: string;
  sizeBytes: number;
  sha256: string;
  /** The bytes, when the message was small enough to be held (see SMALL_MESSAGE_BYTES). */
  bytes?: Buffer;
  /** The first SMALL_MESSAGE_BYTES or more of a larger message (its header section, as a rule). */
  head?: Buffer;
  /**
   * Not uploaded: the message ended within `holdUpTo` and `bytes` holds it; the caller keeps them
   * (beside the activity, decision 0029). `blobName` is the name it would have had.
   */
  inline?: boolean;
}

export interface UploadOptions {
  /** Sees every chunk, in order, as it goes up (e.g. to digest the body on the way). */
  observe?: (chunk: Buffer) => void;
  /** A message that ends within this many bytes is held, not uploaded (`inline` in the result). */
  holdUpTo?: number;
}

/** Messages up to this size are held in memory and uploaded in one request. */
export const SMALL_MESSAGE_BYTES = 1024 * 1024;

const UPLOAD_BUFFER = 1024 * 1024;
const UPLOAD_CONCURRENCY = 2;

export class RawStore {
  constructor(private readonly container: ContainerClient) {}

  /**
   * Writes `source` to `blobName` (overwriting: the names are stable keys, so a retry rewrites the
   * same bytes): in one request when it ends within SMALL_MESSAGE_BYTES, else streamed.
   */
  async upload(blobName: string, source: Readable, options: UploadOptions = {}): Promise<RawUpload> {
    const head: Buffer[] = [];
    let headSize = 0;
    const chunks = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const observe = options.observe ?? ((): void => {});
    try {
      for (;;) {
        const next = await chunks.next();
        if (next.done) {
          return await this.holdOrUpload(blobName, Buffer.concat(head, headSize), options.holdUpTo ?? -1);
        }
        observe(next.value);
        head.push(next.value);
        headSize += next.value.length;
        if (headSize > SMALL_MESSAGE_BYTES) break;
      }
    } catch (err) {
      source.destroy();
      if (isAppError(err)) throw err;
      throw storageError(err);
    }
    // Larger: what was read so far, then the rest of the source, streamed.
    const rest = Readable.from((async function* () {
      yield* head;
      for (;;) {
        const next = await chunks.next();
        if (next.done) return;
        observe(next.value);
        yield next.value;
      }
    })(), { objectMode: false });
    rest.on("error", (err) => source.destroy(err));
    const headBytes = Buffer.concat(head, headSize);
    return { ...(await this.uploadStream(blobName, rest, source)), head: headBytes };
  }

  private async uploadStream(blobName: string, body: Readable, source: Readable): Promise<RawUpload> {
    const hash = createHash("sha256");
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    body.on("error", (err) => meter.destroy(err));
    body.pipe(meter);
    try {
      await this.container.getBlockBlobClient(blobName).uploadStream(meter, UPLOAD_BUFFER, UPLOAD_CONCURRENCY, {
        blobHTTPHeaders: { blobContentType: "message/rfc822" },
      });
    } catch (err) {
      source.destroy();
      // A failing source (the POP3 connection) is the real error; keep it as it is.
      if (isAppError(err)) throw err;
      throw storageError(err);
    }
    return { blobName, sizeBytes: size, sha256: hash.digest("hex") };
  }

  /** Bytes the caller keeps itself, described as an upload would describe them. */
  static held(blobName: string, bytes: Buffer): RawUpload {
    return { blobName, sizeBytes: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex"), bytes, inline: true };
  }

  /** `bytes` held when no longer than `holdUpTo`, else uploaded. */
  async holdOrUpload(blobName: string, bytes: Buffer, holdUpTo: number): Promise<RawUpload> {
    return bytes.length <= holdUpTo ? RawStore.held(blobName, bytes) : { ...(await this.uploadBuffer(blobName, bytes)), bytes };
  }

  /** Removes an upload nobody owns; held bytes were never written. */
  async discard(upload: RawUpload): Promise<void> {
    if (!upload.inline && upload.blobName) await this.delete(upload.blobName);
  }

  async uploadBuffer(blobName: string, bytes: Buffer): Promise<RawUpload> {
    try {
      await this.container.getBlockBlobClient(blobName).uploadData(bytes, { blobHTTPHeaders: { blobContentType: "message/rfc822" } });
    } catch (err) {
      throw storageError(err);
    }
    return { blobName, sizeBytes: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") };
  }

  async download(blobName: string): Promise<Readable> {
    try {
      const res = await this.container.getBlobClient(blobName).download();
      return res.readableStreamBody as Readable;
    } catch (err) {
      throw storageError(err);
    }
  }

  async downloadBuffer(blobName: string): Promise<Buffer> {
    try {
      return await this.container.getBlobClient(blobName).downloadToBuffer();
    } catch (err) {
      throw storageError(err);
    }
  }

  async delete(blobName: string): Promise<void> {
    try {
      await this.container.getBlobClient(blobName).deleteIfExists();
    } catch (err) {
      throw storageError(err);
    }
  }

  /** Small JSON documents (checkpoints) live beside the raw messages. */
  async readJson<T>(blobName: string): Promise<{ value: T; etag: string } | undefined> {
    const blob = this.container.getBlobClient(blobName);
    try {
      const res = await blob.download();
      const chunks: Buffer[] = [];
      for await (const c of res.readableStreamBody as Readable) chunks.push(c as Buffer);
      return { value: JSON.parse(Buffer.concat(chunks).toString("utf8")) as T, etag: res.etag ?? "" };
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return undefined;
      throw storageError(err);
    }
  }

  async writeJson(blobName: string, value: unknown): Promise<void> {
    const body = Buffer.from(JSON.stringify(value));
    try {
      await this.container.getBlockBlobClient(blobName).uploadData(body, { blobHTTPHeaders: { blobContentType: "application/json" } });
    } catch (err) {
      throw storageError(err);
    }
  }
}
