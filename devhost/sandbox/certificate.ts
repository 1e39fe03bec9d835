/**
 * @module The sandbox's TLS certificate: a private CA and a server certificate it signs for
 * localhost, 127.0.0.1 and ::1, generated at first start into the data folder and reused after.
 * Only the dev host trusts the CA (trust.ts); nothing is added to the machine's trust store.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import { join } from "node:path";

export interface SandboxCertificate {
  caPath: string;
  ca: string;
  cert: string;
  key: string;
  /** True when this call generated it. */
  created: boolean;
}

/** Validity of a new certificate, and how close to expiry an existing one is replaced. */
const VALID_DAYS = 825;
const RENEW_BEFORE_MS = 7 * 24 * 3600_000;
const HOSTS = { dns: ["localhost"], ips: ["127.0.0.1", "::1"] } as const;

export const CA_FILE = "sandbox-ca.pem";
const CERT_FILE = "sandbox-server.pem";
const KEY_FILE = "sandbox-server-key.pem";

function stillGood(certPem: string, now: Date): boolean {
  try {
    return new Date(new X509Certificate(certPem).validTo).getTime() - now.getTime() > RENEW_BEFORE_MS;
  } catch {
    return false;
  }
}

export async function ensureCertificate(dataDir: string, now = new Date()): Promise<SandboxCertificate> {
  const caPath = join(dataDir, CA_FILE);
  const files = [caPath, join(dataDir, CERT_FILE), join(dataDir, KEY_FILE)];
  if (files.every((f) => existsSync(f))) {
    const [ca, cert, key] = files.map((f) => readFileSync(f, "utf8")) as [string, string, string];
    if (stillGood(ca, now) && stillGood(cert, now)) return { caPath, ca, cert, key, created: false };
  }
  // Imported here: a devDependency, needed only the first time (or when the certificate expires).
  const { generate } = await import("selfsigned");
  const notAfterDate = new Date(now.getTime() + VALID_DAYS * 24 * 3600_000);
  const caPems = await generate([{ name: "commonName", value: "email-sync sandbox CA (local only)" }], {
    keyType: "ec", algorithm: "sha256", notBeforeDate: now, notAfterDate,
    extensions: [{ name: "basicConstraints", cA: true, critical: true }, { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true }],
  });
  const server = await generate([{ name: "commonName", value: "localhost" }], {
    keyType: "ec", algorithm: "sha256", notBeforeDate: now, notAfterDate,
    ca: { key: caPems.private, cert: caPems.cert },
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames: [...HOSTS.dns.map((value) => ({ type: 2 as const, value })), ...HOSTS.ips.map((ip) => ({ type: 7 as const, ip }))] },
    ],
  });
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writeFileSync(caPath, caPems.cert);
  writeFileSync(files[1] as string, server.cert);
  // The CA's own key is not kept: nothing else is ever signed with it.
  writeFileSync(files[2] as string, server.private, { mode: 0o600 });
  return { caPath, ca: caPems.cert, cert: server.cert, key: server.private, created: true };
}
