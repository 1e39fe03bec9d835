/**
 * @module A small Key Vault-compatible HTTPS server for tests: just the secrets operations the
 * @azure/keyvault-secrets SDK sends for set, get, delete, recover and purge, with Key Vault's
 * bearer challenge, soft delete and error shapes. Deletion and recovery can be made to take time
 * (as in Key Vault, where both answer 409 Conflict while in progress), and the server can be told
 * to fail (an HTTP status, or connections reset) or be stopped.
 *
 * TLS: a self-signed certificate for 127.0.0.1 is generated with `openssl` into a temporary
 * directory, once per process; clients trust it through the SDK's `tlsOptions.ca`, so nothing
 * turns certificate checks off.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { TokenCredential } from "@azure/identity";
import type { SecretClientOptions } from "@azure/keyvault-secrets";

export interface FakeKeyVaultOptions {
  /** The bearer token the server accepts. Default "test-token". */
  token?: string;
  /** How long a deleted secret stays "being deleted" (409 on set, recover and purge). Default 0. */
  deleteLatencyMs?: number;
  /** How long a recovered secret stays "being recovered" (404 on get, 409 on set). Default 0. */
  recoverLatencyMs?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  apiVersion: string | null;
  authorized: boolean;
}

export type SecretState = "active" | "deleting" | "deleted" | "recovering";

export interface FakeKeyVault {
  /** The vault URL, e.g. https://127.0.0.1:PORT */
  url: string;
  /** PEM of the self-signed certificate, to trust via `tlsOptions.ca`. */
  ca: string;
  /** A credential whose token the server accepts. */
  credential: TokenCredential;
  /** Options for a SecretClient talking to this server: trust, challenge verification off, fast retries. */
  clientOptions(): SecretClientOptions;
  /** Every request received, in order (never with bodies). */
  requests: RecordedRequest[];
  /** Answer every later request with `status` (a Key Vault-shaped error) or by resetting the connection; undefined heals. */
  failWith(failure: number | "reset" | undefined): void;
  state(name: string): SecretState | undefined;
  /** Versions stored for a name, oldest first. */
  versions(name: string): string[];
  stop(): Promise<void>;
}

interface Version {
  id: string;
  value: string;
  contentType?: string;
  tags?: Record<string, string>;
  created: number;
}

interface Entry {
  versions: Version[];
  state: SecretState;
  /** When a "deleting" or "recovering" state ends (epoch ms). */
  until: number;
  deletedDate?: number;
}

const exec = promisify(execFile);
let certificate: Promise<{ key: string; cert: string }> | undefined;

/** One self-signed P-256 certificate per test process, valid for 127.0.0.1 and localhost. */
export function testCertificate(): Promise<{ key: string; cert: string }> {
  certificate ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), "fake-kv-"));
    try {
      const keyFile = join(dir, "key.pem");
      const certFile = join(dir, "cert.pem");
      await exec("openssl", [
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", keyFile, "-out", certFile, "-days", "2", "-subj", "/CN=127.0.0.1",
        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
      ]);
      return { key: await readFile(keyFile, "utf8"), cert: await readFile(certFile, "utf8") };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  })();
  return certificate;
}

const CHALLENGE = 'Bearer authorization="https://login.microsoftonline.com/tenant", resource="https://vault.azure.net"';
const seconds = (ms: number): number => Math.floor(ms / 1000);

const ERROR_CODES: Record<number, string> = {
  400: "BadParameter", 401: "Unauthorized", 403: "Forbidden", 404: "SecretNotFound", 409: "Conflict",
  429: "Throttled", 500: "InternalServerError", 502: "BadGateway", 503: "ServiceUnavailable", 504: "GatewayTimeout",
};

export async function startFakeKeyVault(options: FakeKeyVaultOptions = {}): Promise<FakeKeyVault> {
  const token = options.token ?? "test-token";
  const { key, cert } = await testCertificate();
  const secrets = new Map<string, Entry>();
  const requests: RecordedRequest[] = [];
  let failure: number | "reset" | undefined;
  let url = "";

  const send = (res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void => {
    const text = body === undefined ? "" : JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), ...headers });
    res.end(text);
  };
  const fail = (res: ServerResponse, status: number, message: string, code = ERROR_CODES[status] ?? "Error", headers: Record<string, string> = {}): void =>
    send(res, status, { error: { code, message } }, headers);

  /** Moves a timed state on when its time is up, like the service finishing the operation. */
  const settle = (name: string): Entry | undefined => {
    const e = secrets.get(name);
    if (e && Date.now() >= e.until) {
      if (e.state === "deleting") e.state = "deleted";
      if (e.state === "recovering") e.state = "active";
    }
    return e;
  };

  const bundle = (name: string, v: Version, withValue: boolean): Record<string, unknown> => ({
    ...(withValue ? { value: v.value } : {}),
    id: `${url}/secrets/${name}/${v.id}`,
    ...(v.contentType ? { contentType: v.contentType } : {}),
    ...(v.tags ? { tags: v.tags } : {}),
    attributes: { enabled: true, created: v.created, updated: v.created, recoveryLevel: "Recoverable+Purgeable", recoverableDays: 90 },
  });
  const deletedBundle = (name: string, e: Entry): Record<string, unknown> => ({
    ...bundle(name, e.versions.at(-1)!, false),
    recoveryId: `${url}/deletedsecrets/${name}`,
    deletedDate: e.deletedDate,
    scheduledPurgeDate: (e.deletedDate ?? 0) + 90 * 86400,
  });

  const inProgress = (res: ServerResponse, name: string, e: Entry): void =>
    fail(res, 409, e.state === "deleting" || e.state === "recovering"
      ? `Secret ${name} is currently being ${e.state === "deleting" ? "deleted" : "recovered"}.`
      : `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`);

  function route(req: IncomingMessage, res: ServerResponse, path: string, body: string): void {
    const secret = /^\/secrets\/([^/]+)(?:\/([^/]*))?$/.exec(path);
    const deleted = /^\/deletedsecrets\/([^/]+)(\/recover)?$/.exec(path);
    const name = decodeURIComponent(secret?.[1] ?? deleted?.[1] ?? "");
    const key = name.toLowerCase(); // Key Vault names are case-insensitive
    const e = settle(key);
    const notFound = (): void => fail(res, 404, `A secret with (name/id) ${name} was not found in this key vault.`);
    const deletedNotFound = (): void => fail(res, 404, `Deleted Secret not found: ${name}`);

    if (secret && req.method === "PUT" && secret[2] === undefined) {
      if (e && e.state !== "active") return inProgress(res, name, e);
      let parsed: { value?: unknown; contentType?: unknown; tags?: unknown };
      try { parsed = JSON.parse(body) as typeof parsed; } catch { return fail(res, 400, "The request body is not valid JSON.", "BadParameter"); }
      if (typeof parsed.value !== "string") return fail(res, 400, "Secret value is required.", "BadParameter");
      const v: Version = { id: randomBytes(16).toString("hex"), value: parsed.value, created: seconds(Date.now()) };
      if (typeof parsed.contentType === "string") v.contentType = parsed.contentType;
      if (parsed.tags && typeof parsed.tags === "object") v.tags = parsed.tags as Record<string, string>;
      const entry = e ?? { versions: [], state: "active" as const, until: 0 };
      entry.versions.push(v);
      secrets.set(key, entry);
      return send(res, 200, bundle(name, v, true));
    }
    if (secret && req.method === "GET") {
      if (!e || e.state !== "active") return notFound();
      const version = secret[2] ? e.versions.find((v) => v.id === secret[2]) : e.versions.at(-1);
      return version ? send(res, 200, bundle(name, version, true)) : notFound();
    }
    if (secret && req.method === "DELETE" && secret[2] === undefined) {
      if (!e || e.state !== "active") return notFound();
      const latency = options.deleteLatencyMs ?? 0;
      Object.assign(e, { state: latency > 0 ? "deleting" : "deleted", until: Date.now() + latency, deletedDate: seconds(Date.now()) });
      return send(res, 200, deletedBundle(name, e));
    }
    if (deleted && !deleted[2] && req.method === "GET") {
      return e?.state === "deleted" ? send(res, 200, deletedBundle(name, e)) : deletedNotFound();
    }
    if (deleted && !deleted[2] && req.method === "DELETE") {
      if (e?.state === "deleting" || e?.state === "recovering") return inProgress(res, name, e);
      if (e?.state !== "deleted") return deletedNotFound();
      secrets.delete(key);
      return send(res, 204);
    }
    if (deleted && deleted[2] && req.method === "POST") {
      if (e?.state === "deleting" || e?.state === "recovering") return inProgress(res, name, e);
      if (e?.state !== "deleted") return deletedNotFound();
      const latency = options.recoverLatencyMs ?? 0;
      Object.assign(e, { state: latency > 0 ? "recovering" : "active", until: Date.now() + latency, deletedDate: undefined });
      return send(res, 200, bundle(name, e.versions.at(-1)!, false));
    }
    fail(res, secret || deleted ? 405 : 404, `${req.method ?? "?"} ${path} is not supported by this fake.`, "BadParameter");
  }

  const server: Server = createServer({ key, cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const u = new URL(req.url ?? "/", "https://fake");
      const authorized = req.headers.authorization === `Bearer ${token}`;
      requests.push({ method: req.method ?? "", path: u.pathname, apiVersion: u.searchParams.get("api-version"), authorized });
      if (failure === "reset") return void req.socket.destroy();
      if (failure !== undefined) return fail(res, failure, "The fake vault was told to fail.");
      if (!authorized) {
        // Key Vault's challenge: the SDK sends its first request without a token (and without a
        // body) and learns here which authority and resource to get one for.
        return fail(res, 401, "AKV10000: Request is missing a Bearer or PoP token.", "Unauthorized", { "WWW-Authenticate": CHALLENGE });
      }
      if (!u.searchParams.get("api-version")) return fail(res, 400, "The request URI contains an invalid or missing api-version.", "BadParameter");
      route(req, res, u.pathname, Buffer.concat(chunks).toString("utf8"));
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    ca: cert,
    credential: { getToken: () => Promise.resolve({ token, expiresOnTimestamp: Date.now() + 3_600_000 }) },
    clientOptions: () => ({
      tlsOptions: { ca: cert },
      disableChallengeResourceVerification: true,
      retryOptions: { maxRetries: 1, retryDelayInMs: 10, maxRetryDelayInMs: 20 },
    }),
    requests,
    failWith: (f) => { failure = f; },
    state: (name) => settle(name.toLowerCase())?.state,
    versions: (name) => secrets.get(name.toLowerCase())?.versions.map((v) => v.id) ?? [],
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
