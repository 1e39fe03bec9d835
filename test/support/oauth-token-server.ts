/**
 * @module A small OAuth 2.0 token endpoint on loopback (client credentials grant, RFC 6749 §4.4)
 * for tests: it issues tokens to one client, counts requests, and can be told to misbehave.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface TokenServerOptions {
  clientId: string;
  clientSecret: string;
  scope: string;
  /** Seconds the token lives (expires_in). */
  lifetimeS?: number;
}

export class OAuthTokenServer {
  requests = 0;
  /** Tokens issued, newest last. */
  issued: string[] = [];
  /** Next answers: an HTTP status with a JSON body, instead of a token. */
  failNext: Array<{ status: number; body: unknown }> = [];
  /** Pads tokens to this length (Microsoft Entra tokens are 1-2 KB). */
  tokenLength = 0;
  /** When set, every token issued is this one (a mail server in the test accepts exactly it). */
  fixedToken: string | undefined;
  /**
   * When set (and fixedToken is not), makes each token issued, given its lifetime in seconds: a
   * JWT signed for a real mail server (test-e2e/support/oauthJwt.ts), say, with its own iat and exp.
   */
  tokenFactory: ((lifetimeS: number) => string) | undefined;

  private constructor(private readonly server: Server, readonly url: string, private readonly o: TokenServerOptions) {}

  static async start(o: TokenServerOptions): Promise<OAuthTokenServer> {
    const ref: { self?: OAuthTokenServer } = {};
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => { body += c.toString("utf8"); });
      req.on("end", () => ref.self?.answer(body, (status, json) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(json));
      }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    ref.self = new OAuthTokenServer(server, `http://127.0.0.1:${port}/tenant-1/oauth2/v2.0/token`, o);
    return ref.self;
  }

  private answer(body: string, reply: (status: number, json: unknown) => void): void {
    this.requests++;
    const failure = this.failNext.shift();
    if (failure) return reply(failure.status, failure.body);
    const form = new URLSearchParams(body);
    if (form.get("grant_type") !== "client_credentials") return reply(400, { error: "unsupported_grant_type" });
    if (form.get("client_id") !== this.o.clientId || form.get("client_secret") !== this.o.clientSecret) {
      return reply(401, { error: "invalid_client", error_description: "AADSTS7000215: Invalid client secret provided." });
    }
    if (form.get("scope") !== this.o.scope) return reply(400, { error: "invalid_scope", error_description: "The scope is not valid." });
    const lifetimeS = this.o.lifetimeS ?? 3600;
    const token = this.fixedToken ?? this.tokenFactory?.(lifetimeS) ?? `tok-${this.requests}-`.padEnd(this.tokenLength, "x");
    this.issued.push(token);
    return reply(200, { token_type: "Bearer", access_token: token, expires_in: lifetimeS });
  }

  /** The newest token issued. */
  get current(): string | undefined {
    return this.issued.at(-1);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
