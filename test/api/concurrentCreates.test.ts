/**
 * One mailbox per owner and per address, under a burst (issue 10, load): 1,000 concurrent creates
 * of the same owner, then of the same address, give exactly one mailbox each: one 201, 409
 * CONFLICT for every other, never a 5xx, and exactly one stored mailbox.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { ADMIN_KEY, startTestApp, type TestApp } from "../support/app.js";

const CONCURRENT = 1000;
let app: TestApp;
/**
 * The connections are opened first, a batch at a time (1,000 connects at once overflow the listen
 * backlog and are reset by the kernel, which tests nothing of ours), then every request is written
 * at once, so all 1,000 are in the app together.
 */
const CONNECT_BATCH = 200;
before(async () => { app = await startTestApp(); });
after(async () => {
  await app?.stop();
});

async function openSockets(n: number): Promise<Socket[]> {
  const { hostname, port } = new URL(app.url);
  const sockets: Socket[] = [];
  while (sockets.length < n) {
    const batch = Math.min(CONNECT_BATCH, n - sockets.length);
    sockets.push(...await Promise.all(Array.from({ length: batch }, () => new Promise<Socket>((resolve, reject) => {
      const s = connect(Number(port), hostname, () => resolve(s));
      s.once("error", reject);
    }))));
  }
  return sockets;
}

/** Writes one POST /api/mailboxes on an open socket and reads the answer to the end (Connection: close). */
function create(socket: Socket, body: unknown): Promise<{ status: number; code?: string }> {
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.once("error", reject);
    socket.once("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      const code = /"code":"([A-Z_]+)"/.exec(text)?.[1];
      resolve({ status, ...(code ? { code } : {}) });
    });
    socket.write(Buffer.concat([Buffer.from(
      `POST /api/mailboxes HTTP/1.1\r\nHost: ${new URL(app.url).host}\r\nx-functions-key: ${ADMIN_KEY}\r\n` +
      `content-type: application/json\r\ncontent-length: ${payload.length}\r\nconnection: close\r\n\r\n`), payload]));
  });
}

async function burst(bodyOf: (i: number) => unknown): Promise<Array<{ status: number; code?: string }>> {
  const sockets = await openSockets(CONCURRENT);
  return Promise.all(sockets.map((s, i) => create(s, bodyOf(i))));
}

function tally(results: Array<{ status: number; code?: string }>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of results) out[`${r.status}${r.code ? ` ${r.code}` : ""}`] = (out[`${r.status}${r.code ? ` ${r.code}` : ""}`] ?? 0) + 1;
  return out;
}

async function mailboxesWhere(pred: (m: { owner: { id: string }; emailAddress: string }) => boolean): Promise<number> {
  const res = await app.call("GET", "/api/mailboxes?top=1000");
  assert.equal(res.status, 200, res.text);
  return (res.body.items as Array<{ owner: { id: string }; emailAddress: string }>).filter(pred).length;
}

test(`${CONCURRENT} concurrent creates for one owner: one 201, the rest 409, one mailbox`, async () => {
  const results = await burst((i) => ({ owner: { type: "user", id: "u-burst" }, emailAddress: `burst-${i}@contoso.test` }));
  assert.deepEqual(tally(results), { "201": 1, "409 CONFLICT": CONCURRENT - 1 });
  assert.equal(await mailboxesWhere((m) => m.owner.id === "u-burst"), 1);
});

test(`${CONCURRENT} concurrent creates for one address: one 201, the rest 409, one mailbox`, async () => {
  const results = await burst((i) => ({ owner: { type: "queue", id: `q-burst-${i}` }, emailAddress: "shared@contoso.test" }));
  assert.deepEqual(tally(results), { "201": 1, "409 CONFLICT": CONCURRENT - 1 });
  assert.equal(await mailboxesWhere((m) => m.emailAddress === "shared@contoso.test"), 1);
});
