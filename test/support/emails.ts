/** Test helpers: a mailbox's activities and an activity's raw bytes, read through the API. */
import assert from "node:assert/strict";
import type { TestApp } from "./app.js";

export async function emailsOf(app: TestApp, mailboxId: string): Promise<any[]> {
  const res = await app.call("GET", `/api/emails?mailboxId=${mailboxId}&top=1000`);
  assert.equal(res.status, 200, res.text);
  return res.body.items;
}

export async function rawOf(app: TestApp, emailId: string): Promise<Buffer> {
  const res = await fetch(`${app.url}/api/emails/${emailId}/raw`, { headers: { "x-functions-key": app.settings.API_KEY! } });
  assert.equal(res.status, 200);
  return Buffer.from(await res.arrayBuffer());
}
