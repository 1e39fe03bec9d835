/**
 * @module Entity-group transactions (`$batch`) without the Tables SDK's per-call machinery.
 *
 * `TableClient.submitTransaction` builds a whole new TableClient (pipeline, sanitizer, policies)
 * for every transaction and runs each operation through the generated client only to intercept
 * the request it would have sent. On the ingest path, where nearly every message is one
 * transaction, that was a large share of the app's CPU (issue 15; decision 0029's profile). This
 * module writes the same multipart body directly (the format the SDK writes, OData JSON with
 * `@odata.type` only where the SDK adds one) and sends it through the client's own pipeline, so
 * authentication (shared key, SAS or Entra ID), retries and the API version are the SDK's.
 * The answer is parsed as the SDK parses it: a failed operation is a RestError with its status.
 */
import { randomUUID } from "node:crypto";
import { createDefaultHttpClient, createHttpHeaders, createPipelineRequest, RestError, type HttpClient, type PipelineResponse } from "@azure/core-rest-pipeline";
import type { TableClient, TableTransactionResponse, TransactionAction } from "@azure/data-tables";

const CRLF = "\r\n";
let httpClient: HttpClient | undefined;

/** A string value in a key of the sub-request URL: quotes doubled, then URI-encoded (as the SDK does). */
const keyValue = (v: string): string => encodeURIComponent(v.replace(/'/g, "''"));

/** The entity as the service reads it: PartitionKey/RowKey named so, binary and 64-bit values typed. */
export function serializeEntity(entity: Record<string, unknown>): string {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(entity)) {
    const key = name === "partitionKey" ? "PartitionKey" : name === "rowKey" ? "RowKey" : name;
    if (value === undefined || value === null || typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
      out[key] = value;
    } else if (value instanceof Uint8Array) {
      out[key] = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64");
      out[`${key}@odata.type`] = "Edm.Binary";
    } else if (value instanceof Date) {
      out[key] = value.toISOString();
      out[`${key}@odata.type`] = "Edm.DateTime";
    } else if (typeof value === "bigint") {
      out[key] = value.toString();
      out[`${key}@odata.type`] = "Edm.Int64";
    } else if (typeof value === "object" && "value" in value && "type" in value) {
      const typed = value as { value: unknown; type: string };
      out[key] = typed.value;
      out[`${key}@odata.type`] = `Edm.${typed.type}`;
    } else {
      throw new TypeError(`Property ${name} has a type a table entity cannot hold`);
    }
  }
  return JSON.stringify(out);
}

function subRequest(tableUrl: string, action: TransactionAction): string {
  const [kind, entity] = action;
  const e = entity as Record<string, unknown> & { partitionKey: string; rowKey: string };
  const address = `${tableUrl}(PartitionKey='${keyValue(e.partitionKey)}',RowKey='${keyValue(e.rowKey)}')`;
  const lines: string[] = [];
  let body: string | undefined;
  if (kind === "create") {
    lines.push(`POST ${tableUrl} HTTP/1.1`, "Content-Type: application/json;odata=nometadata", "Accept: application/json;odata=minimalmetadata", "DataServiceVersion: 3.0", "Prefer: return-no-content");
    body = serializeEntity(e);
  } else if (kind === "delete") {
    lines.push(`DELETE ${address} HTTP/1.1`, "Accept: application/json;odata=minimalmetadata", "DataServiceVersion: 3.0", "If-Match: *");
  } else {
    const mode = action[2] ?? "Merge";
    const etag = kind === "update" ? (action[3]?.etag ?? "*") : undefined;
    lines.push(`${mode === "Replace" ? "PUT" : "PATCH"} ${address} HTTP/1.1`, "Content-Type: application/json", "DataServiceVersion: 3.0", "Accept: application/json");
    if (etag !== undefined) lines.push(`If-Match: ${etag}`);
    body = serializeEntity(e);
  }
  // Line for line what the SDK writes (its blank lines included), a format Table Storage and Azurite take.
  return ["content-type: application/http", "content-transfer-encoding: binary", "", ...lines, CRLF, ...(body === undefined ? [] : [body])].join(CRLF);
}

/** The multipart body of one changeset holding `actions`. */
export function batchBody(tableUrl: string, actions: readonly TransactionAction[], batchId: string, changesetId: string): string {
  const head = `--batch_${batchId}${CRLF}content-type: multipart/mixed; boundary=changeset_${changesetId}${CRLF}${CRLF}`;
  const parts = actions.map((a) => `--changeset_${changesetId}${CRLF}${subRequest(tableUrl, a)}`);
  return `${[head, ...parts].join(CRLF)}${CRLF}--changeset_${changesetId}--${CRLF}--batch_${batchId}--${CRLF}`;
}

function failure(text: string, status: number, response: PipelineResponse): RestError {
  let message = "Transaction Failed";
  let code: string | undefined;
  try {
    const parsed = JSON.parse(text) as { "odata.error"?: { code?: string; message?: { value?: string } } };
    message = parsed["odata.error"]?.message?.value ?? message;
    code = parsed["odata.error"]?.code;
  } catch { /* not JSON: the status says it */ }
  return new RestError(message, { ...(code ? { code } : {}), statusCode: status, request: response.request, response });
}

/** Reads a `$batch` answer: the first failed operation throws, as the SDK's parser does. */
export function parseBatchResponse(response: PipelineResponse): TableTransactionResponse {
  const text = response.bodyAsText ?? "";
  if (response.status < 200 || response.status >= 300) throw failure(text, response.status, response);
  const parts = text.split("--changesetresponse_").slice(1, -1);
  const subResponses = parts.map((part) => {
    const status = Number(/HTTP\/1\.1 (\d+)/.exec(part)?.[1]);
    if (!Number.isInteger(status)) throw new Error(`A $batch sub-response has no status:\n${part.slice(0, 200)}`);
    const body = /\{(.*)\}/.exec(part)?.[0];
    if (body) throw failure(body, status, response);
    const rowKey = /RowKey='(.*)'/.exec(part)?.[1];
    const etag = /ETag: (.*)/.exec(part)?.[1];
    return { status, ...(rowKey !== undefined ? { rowKey } : {}), ...(etag !== undefined ? { etag } : {}) };
  });
  return { status: response.status, subResponses, getResponseForEntity: (rowKey: string) => subResponses.find((r) => r.rowKey === rowKey) };
}

/** Submits `actions` (one partition, at most 100) as one transaction through `client`'s pipeline. */
export async function submitBatch(client: TableClient, actions: readonly TransactionAction[]): Promise<TableTransactionResponse> {
  const batchId = randomUUID();
  const base = client.url.endsWith("/") ? client.url.slice(0, -1) : client.url;
  const request = createPipelineRequest({
    url: `${base}/$batch`,
    method: "POST",
    body: batchBody(`${base}/${client.tableName}`, actions, batchId, randomUUID()),
    headers: createHttpHeaders({
      accept: "application/json",
      "x-ms-version": "2019-02-02",
      DataServiceVersion: "3.0;",
      MaxDataServiceVersion: "3.0;NetFx",
      "Content-Type": `multipart/mixed; boundary=batch_${batchId}`,
      "Accept-Charset": "UTF-8",
    }),
    allowInsecureConnection: base.startsWith("http:"),
  });
  httpClient ??= createDefaultHttpClient();
  return parseBatchResponse(await client.pipeline.sendRequest(httpClient, request));
}

/** Makes `client.submitTransaction` use submitBatch (callers and tests keep calling the SDK's name). */
export function withLeanTransactions(client: TableClient): TableClient {
  client.submitTransaction = (actions) => submitBatch(client, actions);
  return client;
}
