/**
 * @module A table of JSON documents in one partition, with ETag concurrency, continuation-token
 * paging, and unique keys that hold under concurrent writers.
 *
 * Uniqueness (a profile name, a mailbox address, one mailbox per owner) is enforced by index rows
 * written in the same entity-group transaction as the document: both rows share the partition, so
 * two concurrent creates of the same key cannot both commit; the loser gets 409 from Storage.
 * Lookup rows (non-unique) work the same way and let a reader find documents by a value with one
 * range query instead of a partition scan.
 */
import { createHash } from "node:crypto";
import { RestError, type TableClient, type TableEntityResult, type TableEntityResultPage, type TransactionAction } from "@azure/data-tables";
import { AppError, conflict, notFound, preconditionFailed, validationFailed } from "../errors.js";
import { MAX_CONTENT_KEY_CHARS } from "../limits.js";

export type IndexValue = string | number | boolean | null;

export interface UniqueKey {
  /** Normalized value, e.g. a lower-cased address. */
  key: string;
  /** The message of the 409 when another document holds this key. */
  conflictMessage: string;
}

export interface DocumentTableOptions<T> {
  partition: string;
  /** What the 404 message calls one document ("Profile"). */
  noun: string;
  /** Scalar properties stored beside the JSON so list filters can use them. */
  indexFields?: (doc: T) => Record<string, IndexValue>;
  uniqueKeys?: (doc: T) => UniqueKey[];
  lookupKeys?: (doc: T) => string[];
  /** Brings a document stored in an older shape to the current one as it is read (migration on read). */
  upgrade?: (stored: unknown) => T;
}

export interface Stored<T> {
  doc: T;
  etag: string;
}

export interface Page<T> {
  items: Stored<T>[];
  continuationToken: string | null;
}

const DOC_PREFIX = "e:";
const UNIQUE_PREFIX = "u:";
const LOOKUP_PREFIX = "l:";
/** Keys may hold any character but / \ # ? and control characters (Table Storage rules). */
export const encodeKey = (value: string): string => encodeURIComponent(value).replace(/%/g, "$");

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * A key segment built from content someone else wrote (a Message-ID, a UIDL, an address):
 * encoded as encodeKey does, or, when that is longer than MAX_CONTENT_KEY_CHARS (or cannot be
 * encoded: a lone surrogate), "@" and the SHA-256 of its UTF-16 code units. encodeKey never
 * yields "@" (it escapes it), so the two forms never meet, and no two values share a key.
 */
export function boundedKey(value: string): string {
  if (!LONE_SURROGATE.test(value)) {
    const encoded = encodeKey(value);
    if (encoded.length <= MAX_CONTENT_KEY_CHARS) return encoded;
  }
  return `@${createHash("sha256").update(Buffer.from(value, "utf16le")).digest("hex")}`;
}

interface DocEntity {
  partitionKey: string;
  rowKey: string;
  doc: string;
  [k: string]: unknown;
}

/**
 * A string property holds 32K UTF-16 characters, an entity 1 MiB: a larger document is split
 * across `doc`, `doc1`, `doc2`... (up to MAX_DOC_PARTS parts, about 450K characters in all).
 */
const PART_CHARS = 30_000;
export const MAX_DOC_PARTS = 15;
export const MAX_DOC_CHARS = PART_CHARS * MAX_DOC_PARTS;

function splitDoc(json: string): Record<string, string> {
  if (json.length > MAX_DOC_CHARS) {
    throw new AppError("PAYLOAD_TOO_LARGE", `The document is ${json.length} characters; at most ${MAX_DOC_CHARS} fit in one entity.`);
  }
  const parts: Record<string, string> = {};
  for (let i = 0; i * PART_CHARS < Math.max(json.length, 1); i++) parts[i === 0 ? "doc" : `doc${i}`] = json.slice(i * PART_CHARS, (i + 1) * PART_CHARS);
  return parts;
}

function joinDoc(e: DocEntity): string {
  let json = e.doc;
  for (let i = 1; typeof e[`doc${i}`] === "string"; i++) json += e[`doc${i}`] as string;
  return json;
}

export class DocumentTable<T extends { id: string }> {
  constructor(
    readonly client: TableClient,
    private readonly options: DocumentTableOptions<T>,
  ) {}

  private parse(e: DocEntity): T {
    const stored: unknown = JSON.parse(joinDoc(e));
    return this.options.upgrade ? this.options.upgrade(stored) : (stored as T);
  }

  private entity(doc: T): DocEntity {
    const fields = this.options.indexFields?.(doc) ?? {};
    const clean = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== null));
    return { partitionKey: this.options.partition, rowKey: DOC_PREFIX + doc.id, ...splitDoc(JSON.stringify(doc)), ...clean } as DocEntity;
  }

  private uniqueRows(doc: T): Map<string, UniqueKey> {
    const rows = new Map<string, UniqueKey>();
    for (const u of this.options.uniqueKeys?.(doc) ?? []) rows.set(UNIQUE_PREFIX + boundedKey(u.key), u);
    return rows;
  }

  private lookupRows(doc: T): Set<string> {
    return new Set((this.options.lookupKeys?.(doc) ?? []).map((k) => `${LOOKUP_PREFIX}${boundedKey(k)}|${doc.id}`));
  }

  private indexRow(rowKey: string, id: string): { partitionKey: string; rowKey: string; docId: string } {
    return { partitionKey: this.options.partition, rowKey, docId: id };
  }

  async get(id: string): Promise<Stored<T> | undefined> {
    try {
      const e = await this.client.getEntity<DocEntity>(this.options.partition, DOC_PREFIX + id);
      return { doc: this.parse(e), etag: e.etag };
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return undefined;
      throw storageError(err);
    }
  }

  async require(id: string): Promise<Stored<T>> {
    const found = await this.get(id);
    if (!found) throw notFound(this.options.noun);
    return found;
  }

  async create(doc: T, options: { explain?: boolean } = {}): Promise<Stored<T>> {
    const actions: TransactionAction[] = [["create", this.entity(doc)]];
    for (const rowKey of this.uniqueRows(doc).keys()) actions.push(["create", this.indexRow(rowKey, doc.id)]);
    for (const rowKey of this.lookupRows(doc)) actions.push(["create", this.indexRow(rowKey, doc.id)]);
    const etag = await this.submit(actions, doc, DOC_PREFIX + doc.id, options.explain ?? true);
    return { doc, etag };
  }

  /**
   * Creates `doc` unless one of its unique keys is held already: then undefined, with no read to
   * find out which (the caller knows what to look up). One request either way, so a writer that
   * expects to win can skip the "does it exist?" read.
   */
  async tryCreate(doc: T): Promise<Stored<T> | undefined> {
    try {
      return await this.create(doc, { explain: false });
    } catch (err) {
      if (err instanceof AppError && err.code === "CONFLICT") return undefined;
      throw err;
    }
  }

  /** The partition every row of this table lives in (for rows that must share a transaction). */
  get partition(): string {
    return this.options.partition;
  }

  /**
   * Replaces the document; `etag` undefined means unconditional. Index rows follow the change.
   * `extra` rows of the same partition commit in the same transaction (e.g. a counter).
   */
  async replace(before: T, after: T, etag: string | undefined, extra: TransactionAction[] = []): Promise<Stored<T>> {
    const actions: TransactionAction[] = [["update", this.entity(after), "Replace", { etag: etag ?? "*" }], ...extra];
    const oldUnique = this.uniqueRows(before);
    const newUnique = this.uniqueRows(after);
    for (const k of oldUnique.keys()) if (!newUnique.has(k)) actions.push(["delete", this.indexRow(k, before.id)]);
    for (const k of newUnique.keys()) if (!oldUnique.has(k)) actions.push(["create", this.indexRow(k, after.id)]);
    const oldLookup = this.lookupRows(before);
    const newLookup = this.lookupRows(after);
    for (const k of oldLookup) if (!newLookup.has(k)) actions.push(["delete", this.indexRow(k, before.id)]);
    for (const k of newLookup) if (!oldLookup.has(k)) actions.push(["create", this.indexRow(k, after.id)]);
    const newEtag = await this.submit(actions, after, DOC_PREFIX + after.id);
    return { doc: after, etag: newEtag };
  }

  /**
   * Deletes the document and its index rows in one transaction. The SDK's transaction API takes no
   * If-Match on deletes, so a given etag is checked by a read just before: the window between the
   * two is a single round trip, and a document changed inside it is deleted as the caller asked.
   */
  async delete(doc: T, etag: string | undefined): Promise<void> {
    if (etag !== undefined && etag !== "*") {
      const current = await this.require(doc.id);
      if (current.etag !== etag) throw preconditionFailed();
    }
    const actions: TransactionAction[] = [["delete", this.entity(doc)]];
    for (const k of this.uniqueRows(doc).keys()) actions.push(["delete", this.indexRow(k, doc.id)]);
    for (const k of this.lookupRows(doc)) actions.push(["delete", this.indexRow(k, doc.id)]);
    await this.submit(actions, doc, DOC_PREFIX + doc.id);
  }

  /**
   * Read-modify-write with optimistic concurrency. With `ifMatch` the caller's view must be current
   * (412 otherwise); without it a concurrent change is simply re-read and the change re-applied.
   */
  async update(id: string, change: (current: T) => T | Promise<T>, ifMatch?: string): Promise<Stored<T>> {
    for (let attempt = 0; ; attempt++) {
      const current = await this.require(id);
      if (ifMatch !== undefined && ifMatch !== "*" && ifMatch !== current.etag) throw preconditionFailed();
      const next = await change(current.doc);
      try {
        return await this.replace(current.doc, next, ifMatch ?? current.etag);
      } catch (err) {
        const retry = err instanceof AppError && err.code === "PRECONDITION_FAILED" && ifMatch === undefined && attempt < 5;
        if (!retry) throw err;
      }
    }
  }

  /** Rows of this table's partition whose RowKey starts with `prefix`. */
  private prefixFilter(prefix: string): string {
    return `PartitionKey eq '${odataString(this.options.partition)}' and ${rowKeyPrefixFilter(prefix)}`;
  }

  /**
   * The OData filter of this table's document rows (not its unique or lookup rows), narrowed by
   * `filter` on the index properties: for queries that read only keys or index properties.
   */
  documentsFilter(filter?: string): string {
    const range = this.prefixFilter(DOC_PREFIX);
    return filter ? `${range} and (${filter})` : range;
  }

  /** The document id of a document row's RowKey. */
  idOfRow(rowKey: string): string {
    return rowKey.slice(DOC_PREFIX.length);
  }

  async list(opts: { filter?: string; top: number; continuationToken?: string | undefined }): Promise<Page<T>> {
    const filter = this.documentsFilter(opts.filter);
    const page = await onePage(this.client.listEntities<DocEntity>({ queryOptions: { filter } }), opts.top, opts.continuationToken);
    return { items: page.rows.map((e) => ({ doc: this.parse(e), etag: e.etag })), continuationToken: page.continuationToken };
  }

  /** Every document id filed under a lookup key (non-unique index). */
  async idsByLookup(key: string): Promise<string[]> {
    const filter = this.prefixFilter(`${LOOKUP_PREFIX}${boundedKey(key)}|`);
    const ids: string[] = [];
    try {
      for await (const e of this.client.listEntities<{ docId: string }>({ queryOptions: { filter, select: ["docId"] } })) ids.push(e.docId);
    } catch (err) {
      throw storageError(err);
    }
    return ids;
  }

  /** One page of the ids filed under a lookup key. */
  async lookupPage(key: string, top: number, continuationToken?: string): Promise<{ ids: string[]; continuationToken: string | null }> {
    const filter = this.prefixFilter(`${LOOKUP_PREFIX}${boundedKey(key)}|`);
    const page = await onePage(this.client.listEntities<{ docId: string }>({ queryOptions: { filter, select: ["docId"] } }), top, continuationToken);
    return { ids: page.rows.map((e) => e.docId), continuationToken: page.continuationToken };
  }

  /** The id of the document holding a unique key, if any. */
  async idByUniqueKey(key: string): Promise<string | undefined> {
    try {
      const e = await this.client.getEntity<{ docId: string }>(this.options.partition, UNIQUE_PREFIX + boundedKey(key));
      return e.docId;
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return undefined;
      throw storageError(err);
    }
  }

  private async submit(actions: TransactionAction[], doc: T, docRowKey: string, explain = true): Promise<string> {
    try {
      const result = await this.client.submitTransaction(actions);
      const etag = result.getResponseForEntity(docRowKey)?.etag;
      if (etag) return etag;
      // Deletes carry no etag; updates through some emulators omit it: read it back.
      return (await this.get(doc.id))?.etag ?? "";
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 409) {
        throw explain ? await this.explainConflict(doc) : conflict(`${this.options.noun} holds a unique key another one holds.`);
      }
      if (err instanceof RestError && (err.statusCode === 412 || err.statusCode === 404)) {
        // A batch fails as a whole; 404 on a conditional update means the document is gone.
        if (err.statusCode === 404 && !(await this.get(doc.id))) throw notFound(this.options.noun);
        throw preconditionFailed();
      }
      throw storageError(err);
    }
  }

  /** A failed batch does not say which row conflicted: find the unique key held by another document. */
  private async explainConflict(doc: T): Promise<AppError> {
    for (const u of this.uniqueRows(doc).values()) {
      const holder = await this.idByUniqueKey(u.key);
      if (holder !== undefined && holder !== doc.id) return conflict(u.conflictMessage);
    }
    return conflict(`${this.options.noun} already exists or was changed concurrently; retry.`);
  }
}

export function odataString(value: string): string {
  return value.replace(/'/g, "''");
}

/** `RowKey` within the range of keys that start with `prefix`. */
export function rowKeyPrefixFilter(prefix: string): string {
  return `RowKey ge '${odataString(prefix)}' and RowKey lt '${odataString(nextPrefix(prefix))}'`;
}

/** `a eq 'x' and b eq 'y'` for the fields that are set; undefined when none is. */
export function equalsFilter(fields: Record<string, string | undefined>): string | undefined {
  const parts = Object.entries(fields)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `${k} eq '${odataString(v)}'`);
  return parts.length > 0 ? parts.join(" and ") : undefined;
}

const badToken = (): AppError => validationFailed([{ path: "continuationToken", message: "is not a continuation token this API returned" }]);

/**
 * Whether `token` has the shape the Tables SDK gives out: base64 of {"nextPartitionKey", "nextRowKey"?}.
 * The SDK decodes it with JSON.parse and no check, so anything else would fail as a Storage error (503).
 */
export function isContinuationToken(token: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(token)) return false;
  try {
    const v = JSON.parse(Buffer.from(token, "base64").toString("latin1")) as unknown;
    if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
    const { nextPartitionKey, nextRowKey, ...rest } = v as Record<string, unknown>;
    return typeof nextPartitionKey === "string" && nextPartitionKey !== "" &&
      (nextRowKey === undefined || typeof nextRowKey === "string") && Object.keys(rest).length === 0;
  } catch {
    return false;
  }
}

/**
 * One page of a query, with Storage's own continuation token. A token that is not one (or one
 * Storage refuses) came from the caller: it is a 400 naming `continuationToken`, never a 503.
 */
export async function onePage<E extends object>(
  query: { byPage(settings: { maxPageSize?: number; continuationToken?: string }): AsyncIterableIterator<TableEntityResultPage<E>> },
  top: number,
  continuationToken: string | undefined,
): Promise<{ rows: TableEntityResult<E>[]; continuationToken: string | null }> {
  if (continuationToken && !isContinuationToken(continuationToken)) throw badToken();
  try {
    const page = await query.byPage({ maxPageSize: top, ...(continuationToken ? { continuationToken } : {}) }).next();
    if (page.done) return { rows: [], continuationToken: null };
    return { rows: page.value, continuationToken: page.value.continuationToken ?? null };
  } catch (err) {
    if (continuationToken && err instanceof RestError && err.statusCode === 400) throw badToken();
    throw storageError(err);
  }
}

/** The smallest string greater than every string starting with `prefix`. */
export function nextPrefix(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

/**
 * Storage's answers that are about one entity or blob (its keys, properties or size), not about
 * Storage: the same request will be refused again, and other requests are unaffected.
 * https://learn.microsoft.com/rest/api/storageservices/table-service-error-codes
 */
const REFUSED_CODES = new Set([
  "PropertyValueTooLarge", "EntityTooLarge", "KeyValueTooLarge", "PropertyNameTooLong", "PropertyNameInvalid",
  "TooManyProperties", "InvalidValueType", "InvalidInput", "OutOfRangeInput", "InvalidDuplicateRow",
  "RequestBodyTooLarge", "InvalidBlobOrBlock", "InvalidResourceName", "InvalidUri",
]);

/** Whether Storage refused this request for what it carried (a code in REFUSED_CODES, or 413). */
export function refusedByStorage(err: unknown): boolean {
  if (!(err instanceof RestError)) return false;
  if (err.statusCode === 413) return true;
  return err.statusCode === 400 && typeof err.code === "string" && REFUSED_CODES.has(err.code);
}

export function storageError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (refusedByStorage(err)) {
    const code = (err as RestError).code ?? "400";
    return new AppError("STORAGE_REFUSED", `Storage refused what was written (${code}).`, { cause: err });
  }
  return new AppError("STORAGE_UNAVAILABLE", "Storage is not reachable or refused the request; retry later.", { cause: err });
}
