/**
 * @module Where the app may connect with a secret: never to a link-local or cloud metadata address
 * (169.254.0.0/16, fe80::/10, the metadata endpoints of the big clouds, names that resolve there).
 * An admin key that could point a mail host or a token URL there would make the app read the
 * platform's metadata service (managed identity tokens) on its behalf. Loopback stays allowed:
 * tests and the dev sandbox run their servers there. The rule is checked when a profile is saved
 * (a 400 naming the field) and again on the address actually connected to, so a name whose DNS
 * answer changes between the two (DNS rebinding) is caught at connect time.
 */
import dns from "node:dns";
import net from "node:net";
import { AppError } from "../errors.js";

const FORBIDDEN = new net.BlockList();
FORBIDDEN.addSubnet("169.254.0.0", 16, "ipv4"); // RFC 3927 link-local; AWS, GCP, Azure, OCI metadata at .169.254
FORBIDDEN.addSubnet("fe80::", 10, "ipv6"); // RFC 4291 §2.5.6 link-local
FORBIDDEN.addAddress("fd00:ec2::254", "ipv6"); // AWS instance metadata over IPv6
FORBIDDEN.addAddress("100.100.100.200", "ipv4"); // Alibaba Cloud metadata
FORBIDDEN.addAddress("168.63.129.16", "ipv4"); // Azure WireServer (platform agent endpoint)
FORBIDDEN.addSubnet("64:ff9b::a9fe:0", 112, "ipv6"); // RFC 6052 NAT64 form of 169.254.0.0/16

/** Metadata service names, refused whatever they resolve to here (they resolve only inside a cloud VM). */
const FORBIDDEN_NAMES = new Set([
  "metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal",
]);

/** Resolves a name to its addresses, all families, in the resolver's order. */
export type HostResolver = (hostname: string) => Promise<string[]>;

const systemResolver: HostResolver = async (hostname) =>
  (await dns.promises.lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);
let resolver: HostResolver = systemResolver;

/** Test seam: every check and connection resolves through `r` until the returned function is called. */
export function useHostResolver(r: HostResolver): () => void {
  resolver = r;
  return () => void (resolver = systemResolver);
}

/** `[::1]` → `::1`, `fe80::1%eth0` → `fe80::1`, `Host.Example.` → `host.example`. */
export function normalizeHost(host: string): string {
  return host.trim().replace(/^\[(.*)\]$/, "$1").replace(/%.*$/, "").replace(/\.$/, "").toLowerCase();
}

/** True for a link-local or cloud metadata address (IPv4-mapped IPv6 forms included). */
export function isForbiddenAddress(address: string): boolean {
  const ip = normalizeHost(address);
  const family = net.isIP(ip);
  return family !== 0 && FORBIDDEN.check(ip, family === 4 ? "ipv4" : "ipv6");
}

const reason = (host: string, address: string): string =>
  normalizeHost(host) === normalizeHost(address)
    ? `${address} is a link-local or cloud metadata address`
    : `${host} resolves to ${address}, a link-local or cloud metadata address`;

/** Why `host` may not be used, judged from its text alone (an address literal or a metadata name). */
export function literalHostProblem(host: string): string | undefined {
  const h = normalizeHost(host);
  if (FORBIDDEN_NAMES.has(h)) return `${h} is a cloud metadata service name`;
  return isForbiddenAddress(h) ? reason(host, h) : undefined;
}

/**
 * Save-time check: the literal rule, then what the name resolves to now. A name that does not
 * resolve (yet, or from here) within `timeoutMs` is accepted: the connect-time check still applies.
 */
export async function hostProblem(host: string, timeoutMs = 2000): Promise<string | undefined> {
  const literal = literalHostProblem(host);
  if (literal || net.isIP(normalizeHost(host)) !== 0) return literal;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string[]>((resolve) => (timer = setTimeout(() => resolve([]), timeoutMs)));
  const addresses = await Promise.race([resolver(normalizeHost(host)).catch(() => []), timeout]).finally(() => clearTimeout(timer));
  const bad = addresses.find(isForbiddenAddress);
  return bad === undefined ? undefined : reason(host, bad);
}

/** The permanent connection error: retrying cannot help, an admin must change the host. */
export function hostRefused(problem: string, what: string): AppError {
  return new AppError("NETWORK_UNREACHABLE", `Refused to connect to the ${what}: ${problem}.`, { transient: false });
}

type LookupCallback = (err: Error | null, address: string | dns.LookupAddress[], family?: number) => void;

/**
 * A `lookup` for net.connect / tls.connect that fails (with hostRefused) when any address of the
 * name is forbidden, so the socket only ever connects to an address that was checked.
 */
export function guardedLookup(what: string) {
  return (hostname: string, options: dns.LookupOptions, callback: LookupCallback): void => {
    const literal = literalHostProblem(hostname);
    if (literal) return callback(hostRefused(literal, what), "");
    resolver(hostname).then((all) => {
      const bad = all.find(isForbiddenAddress);
      if (bad !== undefined) return callback(hostRefused(reason(hostname, bad), what), "");
      const addresses = all
        .map((address) => ({ address, family: net.isIP(address) }))
        .filter((a) => a.family !== 0 && (!options.family || a.family === options.family));
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} has no usable address`), { code: "ENOTFOUND" }), "");
      return options.all ? callback(null, addresses) : callback(null, first.address, first.family);
    }, (err: unknown) => callback(err instanceof Error ? err : new Error(String(err)), ""));
  };
}

/**
 * For clients that resolve on their own (nodemailer): resolves `host` once, refuses a forbidden
 * answer, and returns the address to connect to, so no second lookup can answer differently.
 */
export async function pinHost(host: string, what: string, timeoutMs: number): Promise<string> {
  const literal = literalHostProblem(host);
  if (literal) throw hostRefused(literal, what);
  const h = normalizeHost(host);
  if (net.isIP(h) !== 0) return h;
  const lookup = guardedLookup(what);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(Object.assign(new Error(`DNS lookup of ${h} timed out`), { code: "ETIMEDOUT" })), timeoutMs);
    lookup(h, {}, (err, address) => {
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(address as string);
    });
  });
}
