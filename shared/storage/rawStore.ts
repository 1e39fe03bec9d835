/**
 * @module Raw RFC 5322 bytes in Blob Storage (a table property holds at most 64 KiB). Uploads are
 * streamed with a bounded buffer and hashed on the way, so a 25 MiB message never sits in memory.
 */
import { createHash } from "node:crypto";
import { Transform, type Readable } from "node:stream";
import type { ContainerClient } from "@azure/storage-blob";
import { storageError } from "./documentTable.js";
import { isAppError } from "../errors.js";

export interface RawUpload {
  blobName: string;
  sizeBytes: number;
  sha256: string;
}

const UPLOAD_BUFFER = 1024 * 1024;
const UPLOAD_CONCURRENCY = 2;

export class RawStore {
  constructor(private readonly container: ContainerClient) {}

  /** Streams `source` into `blobName` (overwriting: the names are stable keys, so a retry rewrites the same bytes). */
  async upload(blobName: string, source: Readable): Promise<RawUpload> {
    const hash = createHash("sha256");
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    source.on("error", (err) => meter.destroy(err));
    source.pipe(meter);
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
