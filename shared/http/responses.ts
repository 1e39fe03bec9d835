/**
 * @module Response helpers: JSON bodies, the error envelope of API.md, ETag headers.
 */
import type { HttpResponseInit } from "@azure/functions";
import type { AppError } from "../errors.js";

const JSON_TYPE = "application/json; charset=utf-8";

export function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponseInit {
  return { status, jsonBody: body, headers: { "content-type": JSON_TYPE, ...headers } };
}

/** An entity response carries its ETag as a header too, for clients that use If-Match generically. */
export function entity(status: number, body: { etag: string }, headers: Record<string, string> = {}): HttpResponseInit {
  return json(status, body, { ...headers, etag: body.etag });
}

export function noContent(): HttpResponseInit {
  return { status: 204 };
}

export function errorResponse(err: AppError): HttpResponseInit {
  // 5xx errors never expose internals: the message of an INTERNAL error is generic by construction.
  return json(err.status, { error: { code: err.code, message: err.message, details: err.details } });
}
