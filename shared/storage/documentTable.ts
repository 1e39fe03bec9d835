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
  /**
   * Rows spread over partitions (emailPartitions.ts) instead of all in `partition`: the document
   * where its id says, each unique or lookup row where its key says. Rows in the document's
   * partition share its transaction; a unique row elsewhere is claimed before the document is
   * written, and a lookup row elsewhere is written after it.
   */
  partitions?: Partitioning;
}

export interface Partitioning {
  ofDoc(id: string): string;
  /** `segment`: the key as stored in the RowKey (boundedKey). */
  ofKey(segment: string, key: string): string;
}

/** A unique or lookup row: where it lives, and the document it points to. */
export interface IndexRow {
  partitionKey: string;
  rowKey: string;
  docId: string;
  [k: string]: unknown;
}

/** A claim on a unique key whose document never appeared is taken over after this (its writer died). */
export const CLAIM_STALE_MS = 2 * 60_000;
/** Rows per transaction (Table Storage's limit). */
const ROWS_PER_TRANSACTION = 100;
const rowId = (r: { partitionKey: string; rowKey: string }): string => `${r.partitionKey}\n${r.rowKey}`;

export interface CreateOptions {
  /** Say which unique key conflicted (a read); false: a bare CONFLICT. */
  explain?: boolean;
  deferLookups?: (rows: IndexRow[]) => void;
  /** Read the ETag back when Storage's answer carries none. */
  etag?: boolean;
  sidecar?: Buffer;
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
/** A document's sidecar: bytes kept beside it, in its partition (see `create`). */
const SIDECAR_PREFIX = "b:";
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

/**
 * A binary property holds 64 KiB: sidecar bytes are split into parts of SIDECAR_PART_BYTES, at
 * most MAX_SIDECAR_PARTS of them (an entity holds 1 MiB).
 */
const SIDECAR_PART_BYTES = 60 * 1024;
export const MAX_SIDECAR_PARTS = 12;
export const MAX_SIDECAR_BYTES = SIDECAR_PART_BYTES * MAX_SIDECAR_PARTS;

function sidecarEntity(partitionKey: string, id: string, bytes: Buffer): { partitionKey: string; rowKey: string; [k: string]: unknown } {
  if (bytes.length > MAX_SIDECAR_BYTES) {
    throw new AppError("PAYLOAD_TOO_LARGE", `The sidecar is ${bytes.length} bytes; at most ${MAX_SIDECAR_BYTES} fit in one entity.`);
  }
  const parts = Math.max(1, Math.ceil(bytes.length / SIDECAR_PART_BYTES));
  const e: { partitionKey: string; rowKey: string; [k: string]: unknown } = { partitionKey, rowKey: SIDECAR_PREFIX + id, parts };
  // Buffers, not plain Uint8Array views: the SDK encodes a plain view's whole underlying buffer,
  // whatever its offset (a slice of a pooled or parent buffer would carry its neighbours' bytes).
  for (let i = 0; i < parts; i++) e[`b${i}`] = bytes.subarray(i * SIDECAR_PART_BYTES, (i + 1) * SIDECAR_PART_BYTES);
  return e;
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
    return { partitionKey: this.partitionOfDoc(doc.id), rowKey: DOC_PREFIX + doc.id, ...splitDoc(JSON.stringify(doc)), ...clean } as DocEntity;
  }

  /** The partition of the document with this id. */
  partitionOfDoc(id: string): string {
    return this.options.partitions?.ofDoc(id) ?? this.options.partition;
  }

  private partitionOfKey(segment: string, key: string): string {
    return this.options.partitions?.ofKey(segment, key) ?? this.options.partition;
  }

  private uniqueRows(doc: T): Map<string, { row: IndexRow; u: UniqueKey }> {
    const rows = new Map<string, { row: IndexRow; u: UniqueKey }>();
    for (const u of this.options.uniqueKeys?.(doc) ?? []) {
      const segment = boundedKey(u.key);
      const row = { partitionKey: this.partitionOfKey(segment, u.key), rowKey: UNIQUE_PREFIX + segment, docId: doc.id };
      rows.set(rowId(row), { row, u });
    }
    return rows;
  }

  private lookupRows(doc: T): Map<string, IndexRow> {
    const rows = new Map<string, IndexRow>();
    for (const key of this.options.lookupKeys?.(doc) ?? []) {
      const segment = boundedKey(key);
      const row = { partitionKey: this.partitionOfKey(segment, key), rowKey: `${LOOKUP_PREFIX}${segment}|${doc.id}`, docId: doc.id };
      rows.set(rowId(row), row);
    }
    return rows;
  }

  /** Every unique and lookup row of `doc` (a migration writes them where they now belong). */
  indexRowsOf(doc: T): IndexRow[] {
    return [...[...this.uniqueRows(doc).values()].map((r) => r.row), ...this.lookupRows(doc).values()];
  }

  async get(id: string): Promise<Stored<T> | undefined> {
    try {
      const e = await this.client.getEntity<DocEntity>(this.partitionOfDoc(id), DOC_PREFIX + id);
      return { doc: this.parse(e), etag: e.etag };
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return undefined;
      throw storageError(err);
    }
  }

  /** The sidecar bytes created with document `id`; undefined when it has none. */
  async readSidecar(id: string): Promise<Buffer | undefined> {
    try {
      const e = await this.client.getEntity<Record<string, unknown>>(this.partitionOfDoc(id), SIDECAR_PREFIX + id);
      const parts: Buffer[] = [];
      for (let i = 0; i < Number(e.parts); i++) {
        const part = e[`b${i}`];
        if (!(part instanceof Uint8Array)) throw storageError(new Error(`sidecar of ${id}: part ${i} is missing`));
        parts.push(Buffer.from(part.buffer, part.byteOffset, part.length));
      }
      return Buffer.concat(parts);
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

  /**
   * Creates `doc` with its index rows. `deferLookups`: lookup rows outside the document's
   * partition are handed to the caller to write later in batches (writeRows), instead of now.
   * `sidecar`: bytes kept in a row of their own beside the document, created in the same
   * transaction (so they exist exactly when it does) and never read by list queries. Documents are
   * deleted with their sidecar only by a caller that knows it has one (none deletes them today).
   */
  async create(doc: T, options: CreateOptions = {}): Promise<Stored<T>> {
    const pk = this.partitionOfDoc(doc.id);
    const explain = options.explain ?? true;
    const unique = [...this.uniqueRows(doc).values()];
    const lookups = [...this.lookupRows(doc).values()];
    const actions: TransactionAction[] = [["create", this.entity(doc)]];
    if (options.sidecar) actions.push(["create", sidecarEntity(pk, doc.id, options.sidecar)]);
    for (const { row } of unique) if (row.partitionKey === pk) actions.push(["create", row]);
    for (const row of lookups) if (row.partitionKey === pk) actions.push(["create", row]);
    const claims = unique.filter((r) => r.row.partitionKey !== pk);
    const etag = await this.claimedSubmit(claims, doc.id, explain, () => this.submit(actions, doc, DOC_PREFIX + doc.id, explain, options.etag ?? true));
    const remote = lookups.filter((r) => r.partitionKey !== pk);
    if (options.deferLookups) options.deferLookups(remote);
    else await this.writeRows(remote);
    return { doc, etag };
  }

  /**
   * Takes the unique rows that live outside the document's partition, before the document is
   * written (a transaction cannot span partitions), then runs `submit`. Whatever fails, the rows
   * taken so far are released.
   */
  private async claimedSubmit(claims: { row: IndexRow; u: UniqueKey }[], id: string, explain: boolean, submit: () => Promise<string>): Promise<string> {
    const claimed: IndexRow[] = [];
    try {
      for (const { row, u } of claims) {
        await this.claim(row, u, id, explain);
        claimed.push(row);
      }
      return await submit();
    } catch (err) {
      // A claim without its document would be taken over later anyway; releasing it frees the key now.
      await this.deleteRows(claimed).catch(() => {});
      throw err;
    }
  }

  /**
   * Takes one unique row for document `id`. A row held for another document that exists is a
   * conflict; one held for a document that never appeared is a writer that died after its claim:
   * taken over once older than CLAIM_STALE_MS (younger, it may be a create in progress).
   */
  private async claim(row: IndexRow, u: UniqueKey, id: string, explain: boolean): Promise<void> {
    const refuse = (message = u.conflictMessage): AppError => (explain ? conflict(message) : this.unexplainedConflict());
    try {
      await this.client.createEntity(row);
      return;
    } catch (err) {
      if (!(err instanceof RestError && err.statusCode === 409)) throw storageError(err);
    }
    let held: { docId: string; etag: string; timestamp?: string };
    try {
      held = await this.client.getEntity<{ docId: string }>(row.partitionKey, row.rowKey);
    } catch (err) {
      throw err instanceof RestError && err.statusCode === 404 ? conflict(`${this.options.noun} was changed concurrently; retry.`) : storageError(err);
    }
    if (held.docId === id) return; // an earlier attempt of this very create
    if (await this.get(held.docId)) throw refuse();
    const age = Date.now() - Date.parse(held.timestamp ?? "");
    if (!(age > CLAIM_STALE_MS)) throw refuse(`${u.conflictMessage} (it is being created; retry shortly)`);
    try {
      await this.client.updateEntity(row, "Replace", { etag: held.etag });
    } catch (err) {
      throw err instanceof RestError && err.statusCode === 412 ? refuse() : storageError(err);
    }
  }

  /** A conflict when the caller asked not to be told which key (tryCreate looks it up itself). */
  private unexplainedConflict(): AppError {
    return conflict(`${this.options.noun} holds a unique key another one holds.`);
  }

  /** Writes index rows (idempotent upserts), one transaction per partition and 100 rows. */
  async writeRows(rows: readonly IndexRow[]): Promise<void> {
    await this.perPartition(rows, (row): TransactionAction => ["upsert", row, "Replace"]);
  }

  /** The lookup rows of `doc` outside its partition: written after it, so a recovery writes them again. */
  lookupRowsOutside(doc: T): IndexRow[] {
    const pk = this.partitionOfDoc(doc.id);
    return [...this.lookupRows(doc).values()].filter((r) => r.partitionKey !== pk);
  }

  /** Deletes index rows; rows already gone are fine. */
  private async deleteRows(rows: readonly IndexRow[]): Promise<void> {
    try {
      await this.perPartition(rows, (row): TransactionAction => ["delete", row]);
    } catch {
      // A transaction fails as a whole when one row is missing: delete one by one, ignoring 404.
      for (const row of rows) {
        try {
          await this.client.deleteEntity(row.partitionKey, row.rowKey);
        } catch (err) {
          if (!(err instanceof RestError && err.statusCode === 404)) throw storageError(err);
        }
      }
    }
  }

  /**
   * One transaction per partition and ROWS_PER_TRANSACTION rows. A row named twice (the same
   * activity's rows handed over again by a retry or a joined copy) goes once: a transaction
   * refuses a row it holds twice.
   */
  private async perPartition(rows: readonly IndexRow[], action: (row: IndexRow) => TransactionAction): Promise<void> {
    const groups = new Map<string, Map<string, IndexRow>>();
    for (const row of rows) {
      const group = groups.get(row.partitionKey) ?? new Map<string, IndexRow>();
      group.set(row.rowKey, row);
      groups.set(row.partitionKey, group);
    }
    try {
      await Promise.all([...groups.values()].map(async (byKey) => {
        const group = [...byKey.values()];
        for (let i = 0; i < group.length; i += ROWS_PER_TRANSACTION) {
          await this.client.submitTransaction(group.slice(i, i + ROWS_PER_TRANSACTION).map(action));
        }
      }));
    } catch (err) {
      throw storageError(err);
    }
  }

  /**
   * Creates `doc` unless one of its unique keys is held already: then undefined, with no read to
   * find out which (the caller knows what to look up). One request either way, so a writer that
   * expects to win can skip the "does it exist?" read. The ETag is what Storage's answer carries
   * (an emulator may leave it out: then ""); it is never read back, so a caller that updates the
   * document later reads it first.
   */
  async tryCreate(doc: T, options: Pick<CreateOptions, "deferLookups" | "sidecar"> = {}): Promise<Stored<T> | undefined> {
    try {
      return await this.create(doc, { ...options, explain: false, etag: false });
    } catch (err) {
      if (err instanceof AppError && err.code === "CONFLICT") return undefined;
      throw err;
    }
  }

  /**
   * Replaces the document; `etag` undefined means unconditional. Index rows follow the change.
   * `extra` rows of the same partition commit in the same transaction (e.g. a counter).
   */
  async replace(before: T, after: T, etag: string | undefined, extra: TransactionAction[] = []): Promise<Stored<T>> {
    const pk = this.partitionOfDoc(after.id);
    const actions: TransactionAction[] = [["update", this.entity(after), "Replace", { etag: etag ?? "*" }], ...extra];
    const oldUnique = this.uniqueRows(before);
    const newUnique = this.uniqueRows(after);
    const oldLookup = this.lookupRows(before);
    const newLookup = this.lookupRows(after);
    const gone = [...[...oldUnique].filter(([k]) => !newUnique.has(k)).map(([, r]) => r.row), ...[...oldLookup].filter(([k]) => !newLookup.has(k)).map(([, r]) => r)];
    const added = [...newLookup].filter(([k]) => !oldLookup.has(k)).map(([, r]) => r);
    const addedUnique = [...newUnique].filter(([k]) => !oldUnique.has(k)).map(([, r]) => r);
    for (const row of gone) if (row.partitionKey === pk) actions.push(["delete", row]);
    for (const { row } of addedUnique) if (row.partitionKey === pk) actions.push(["create", row]);
    for (const row of added) if (row.partitionKey === pk) actions.push(["create", row]);
    const claims = addedUnique.filter((r) => r.row.partitionKey !== pk);
    const newEtag = await this.claimedSubmit(claims, after.id, true, () => this.submit(actions, after, DOC_PREFIX + after.id));
    await this.writeRows(added.filter((r) => r.partitionKey !== pk));
    await this.deleteRows(gone.filter((r) => r.partitionKey !== pk));
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
    const pk = this.partitionOfDoc(doc.id);
    const rows = this.indexRowsOf(doc);
    const actions: TransactionAction[] = [["delete", this.entity(doc)]];
    for (const row of rows) if (row.partitionKey === pk) actions.push(["delete", row]);
    await this.submit(actions, doc, DOC_PREFIX + doc.id);
    await this.deleteRows(rows.filter((r) => r.partitionKey !== pk));
  }

  /**
   * Read-modify-write with optimistic concurrency. With `ifMatch` the caller's view must be current
   * (412 otherwise); without it a concurrent change is simply re-read and the change re-applied.
   */
  async update(id: string, change: (current: T) => T | Promise<T>, ifMatch?: string, known?: Stored<T>): Promise<Stored<T>> {
    for (let attempt = 0; ; attempt++) {
      // `known`: the caller read the document earlier; tried first, re-read only if it changed since.
      const current = attempt === 0 && ifMatch === undefined && known?.doc.id === id && known.etag ? known : await this.require(id);
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

  /** The rows filed under a lookup key: one partition's range. */
  private lookupFilter(key: string): string {
    const segment = boundedKey(key);
    return `PartitionKey eq '${odataString(this.partitionOfKey(segment, key))}' and ${rowKeyPrefixFilter(`${LOOKUP_PREFIX}${segment}|`)}`;
  }

  /**
   * The OData filter of this table's document rows (not its unique or lookup rows), narrowed by
   * `filter` on the index properties: for queries that read only keys or index properties. A
   * table spread over partitions is read across all of them.
   */
  documentsFilter(filter?: string): string {
    const range = (this.options.partitions ? "" : `PartitionKey eq '${odataString(this.options.partition)}' and `) + rowKeyPrefixFilter(DOC_PREFIX);
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
    const filter = this.lookupFilter(key);
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
    const filter = this.lookupFilter(key);
    const page = await onePage(this.client.listEntities<{ docId: string }>({ queryOptions: { filter, select: ["docId"] } }), top, continuationToken);
    return { ids: page.rows.map((e) => e.docId), continuationToken: page.continuationToken };
  }

  /** The id of the document holding a unique key, if any. */
  async idByUniqueKey(key: string): Promise<string | undefined> {
    try {
      const segment = boundedKey(key);
      const e = await this.client.getEntity<{ docId: string }>(this.partitionOfKey(segment, key), UNIQUE_PREFIX + segment);
      return e.docId;
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return undefined;
      throw storageError(err);
    }
  }

  private async submit(actions: TransactionAction[], doc: T, docRowKey: string, explain = true, readBack = true): Promise<string> {
    try {
      const [only] = actions;
      if (actions.length === 1 && only?.[0] === "update") {
        // One row changes (no index row moves): a plain conditional update, whose answer carries the
        // new ETag everywhere (a $batch answer through Azurite carries none, which cost a read back).
        const [, entity, mode, options] = only;
        return (await this.client.updateEntity(entity, mode, options)).etag ?? "";
      }
      const result = await this.client.submitTransaction(actions);
      const etag = result.getResponseForEntity(docRowKey)?.etag;
      if (etag || !readBack) return etag ?? "";
      // Deletes carry no etag; updates through some emulators omit it: read it back.
      return (await this.get(doc.id))?.etag ?? "";
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 409) {
        throw explain ? await this.explainConflict(doc) : this.unexplainedConflict();
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
    for (const { u } of this.uniqueRows(doc).values()) {
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
