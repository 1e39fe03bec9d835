/**
 * The lean `$batch` (shared/storage/tableBatch.ts) must be the SDK's transaction on the wire and in
 * its answers: the same multipart body byte for byte, the same RestError statuses for a lost race,
 * and the same ETags, against Azurite.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { AzureNamedKeyCredential, RestError, TableClient, type TransactionAction } from "@azure/data-tables";
import { startTestApp, type TestApp } from "../support/app.js";
import { submitBatch } from "../../shared/storage/tableBatch.js";

let app: TestApp;
before(async () => { app = await startTestApp(); });
after(async () => { await app?.stop(); });

const ACCOUNT_KEY = Buffer.alloc(64, 1).toString("base64");
const PK = "p'1 é|$x";
const actions: TransactionAction[] = [
  ["create", { partitionKey: PK, rowKey: "e:a/b$c|@x%", doc: "{\"x\":\"é\"}", n: 5, f: 1.5, b: true, bin: Buffer.from("hi"), none: null, at: new Date(0), big: { value: "9007199254740993", type: "Int64" } }],
  ["delete", { partitionKey: PK, rowKey: "l:$40a|b c" }],
  ["update", { partitionKey: PK, rowKey: "r3", v: "x" }, "Replace", { etag: "W/\"datetime'2026'\"" }],
  ["update", { partitionKey: PK, rowKey: "r4", v: "x" }, "Merge"],
  ["upsert", { partitionKey: PK, rowKey: "r5", v: "x" }, "Replace"],
  ["upsert", { partitionKey: PK, rowKey: "r6", v: "x" }, "Merge"],
  ["delete", { partitionKey: PK, rowKey: "last" }],
];

test("the body is the SDK's, byte for byte but for the random boundaries", async () => {
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => { body += c; });
    req.on("end", () => { bodies.push(body); res.statusCode = 400; res.end("{}"); });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const client = new TableClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}/acct`, "emails", new AzureNamedKeyCredential("acct", ACCOUNT_KEY), { allowInsecureConnection: true });
    await assert.rejects(client.submitTransaction(actions));
    const sdk = bodies.at(-1) ?? "";
    await assert.rejects(submitBatch(client, actions), (err: unknown) => err instanceof RestError && err.statusCode === 400);
    const lean = bodies.at(-1) ?? "";
    const boundaries = (s: string): string => s.replace(/(batch|changeset)_[0-9a-f-]{36}/g, "$1_X");
    assert.ok(sdk.includes("RowKey='l%3A%2440a%7Cb%20c'"), "keys in the URL are escaped");
    assert.equal(boundaries(lean), boundaries(sdk));
  } finally {
    server.close();
  }
});

test("against Azurite: creates return their ETag, a taken key is 409, a stale ETag is 412, and nothing of a failed batch is written", async () => {
  const table = app.services.storage.table("leanbatch");
  await app.services.storage.tables.createTable("leanbatch").catch(() => undefined);
  const pk = "p'q é";
  const created = await submitBatch(table, [["create", { partitionKey: pk, rowKey: "a", v: 1, bin: Buffer.from([0, 255]) }], ["create", { partitionKey: pk, rowKey: "b|$c", v: 2 }]]);
  assert.equal(created.subResponses.length, 2);
  const a = await table.getEntity<{ v: number; bin: Uint8Array }>(pk, "a");
  assert.equal(a.v, 1);
  assert.deepEqual([...a.bin], [0, 255]);
  assert.equal((await table.getEntity<{ v: number }>(pk, "b|$c")).v, 2);

  await assert.rejects(submitBatch(table, [["create", { partitionKey: pk, rowKey: "c", v: 3 }], ["create", { partitionKey: pk, rowKey: "a", v: 9 }]]),
    (err: unknown) => err instanceof RestError && err.statusCode === 409);
  await assert.rejects(table.getEntity(pk, "c"), (err: unknown) => err instanceof RestError && err.statusCode === 404);

  const replaced = await submitBatch(table, [["update", { partitionKey: pk, rowKey: "a", v: 4 }, "Replace", { etag: a.etag }]]);
  assert.ok(replaced.subResponses[0]?.status && replaced.subResponses[0].status < 300);
  await assert.rejects(submitBatch(table, [["update", { partitionKey: pk, rowKey: "a", v: 5 }, "Replace", { etag: a.etag }]]),
    (err: unknown) => err instanceof RestError && err.statusCode === 412);
  await assert.rejects(submitBatch(table, [["delete", { partitionKey: pk, rowKey: "missing" }]]),
    (err: unknown) => err instanceof RestError && err.statusCode === 404);
  assert.equal((await table.getEntity<{ v: number }>(pk, "a")).v, 4);

  await submitBatch(table, [["upsert", { partitionKey: pk, rowKey: "a", w: "merged" }, "Merge"], ["delete", { partitionKey: pk, rowKey: "b|$c" }]]);
  const merged = await table.getEntity<{ v: number; w: string }>(pk, "a");
  assert.deepEqual([merged.v, merged.w], [4, "merged"]);
});

test("the storage clients route submitTransaction through the lean batch", () => {
  const table = app.services.storage.table("leanbatch");
  assert.ok(Object.hasOwn(table, "submitTransaction"), "an own property, not the SDK's prototype method");
});
