import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startTestApp, type TestApp } from "../support/app.js";
import { enabledMailbox } from "../support/mailboxes.js";
import { Pop3TestServer } from "../support/pop3-server.js";

let app: TestApp;
before(async () => { app = await startTestApp(); });
after(async () => { await app?.stop(); });

test("through the hosts: admin-run scheduler → mailbox-incoming queue → activities", async () => {
  const server = await Pop3TestServer.start({
    messages: [Buffer.from("Message-ID: <flow-1@test>\r\nFrom: a@b.test\r\nSubject: flow\r\n\r\nbody\r\n")],
  });
  try {
    const { mailboxId } = await enabledMailbox(app, { port: server.port, address: "flow@contoso.test" });
    assert.equal(await app.runFunction("mailboxScheduler"), 202);
    let items: any[] = [];
    for (let i = 0; i < 100 && items.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
      items = (await app.call("GET", `/api/emails?mailboxId=${mailboxId}`)).body.items;
    }
    assert.equal(items.length, 1);
    assert.equal(items[0].messageId, "<flow-1@test>");
    assert.equal(items[0].status, "received");
    const adminWrongKey = await fetch(`${app.url}/admin/functions/mailboxScheduler`, { method: "POST", headers: { "x-functions-key": "nope-nope" }, body: "{}" });
    assert.equal(adminWrongKey.status, 401);
  } finally {
    await server.close();
  }
});
