/**
 * @module The admin console's pre-built assets (Vite's output in dist/console/), read once into
 * memory: the bundle is small (tens of KiB) and a fixed set of names read at start is what makes
 * path traversal impossible, since a request can only ever name one of the files found here.
 * Each asset carries its content type, a strong ETag and, when it is worth it, a gzip copy.
 */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

export interface ConsoleAsset {
  body: Buffer;
  /** Present when gzip saves at least a tenth of the bytes. */
  gzip: Buffer | null;
  contentType: string;
  etag: string;
  /** Vite's hashed files (assets/) never change under one name: browsers may keep them a year. */
  immutable: boolean;
}

/** Asset name (relative, `/`-separated, e.g. `assets/index-abc123.js`) to asset. */
export type ConsoleAssets = ReadonlyMap<string, ConsoleAsset>;

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".woff2": "font/woff2",
};

/** Files of other types are left out rather than served as something a browser might sniff. */
export function contentTypeOf(name: string): string | undefined {
  return CONTENT_TYPES[extname(name).toLowerCase()];
}

/**
 * dist/console/ beside the compiled module (dist/shared/console/); from the TypeScript source
 * (tests under tsx) the same dist/console/ of the checkout, never the console's source folder.
 */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(
  import.meta.url.endsWith(".ts") ? new URL("../../dist/console/", import.meta.url) : new URL("../../console/", import.meta.url),
);

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(entries.map(async (e) => {
    // Dot files and folders (Vite's .vite/ manifest, editor litter) are never served.
    if (e.name.startsWith(".")) return [];
    const path = join(dir, e.name);
    if (e.isDirectory()) return listFiles(path);
    return e.isFile() ? [path] : [];
  }));
  return nested.flat();
}

export function toAsset(name: string, body: Buffer, contentType: string): ConsoleAsset {
  const zipped = gzipSync(body, { level: 9 });
  return {
    body,
    gzip: zipped.length <= body.length * 0.9 ? zipped : null,
    contentType,
    etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`,
    immutable: name.startsWith("assets/"),
  };
}

/** Reads every servable file under `dir`; a missing folder is an empty set (the console is not built). */
export async function loadConsoleAssets(dir: string = DEFAULT_CONSOLE_DIR): Promise<ConsoleAssets> {
  let files: string[];
  try {
    files = await listFiles(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return new Map();
    throw err;
  }
  const assets = new Map<string, ConsoleAsset>();
  for (const file of files) {
    const name = relative(dir, file).split(sep).join("/");
    const type = contentTypeOf(name);
    if (type) assets.set(name, toAsset(name, await readFile(file), type));
  }
  return assets;
}
