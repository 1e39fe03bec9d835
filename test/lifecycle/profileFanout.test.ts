import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startTestApp, type TestApp } from "../support/app.js";
import { definitions } from "../../functions/definitions.js";
import { QUEUES } from "../../shared/storage/names.js";
import { handleTestMessage, PAGE_SIZE, testMessage } from "../../shared/lifecycle/testJobs.js";

let app: TestApp;
before(async () => {
  // HTTP only: the test plays the queue trigger itself, one message at a time.
  app = await startTestApp({ definitions: definitions.filter((d) => d.kind === "http") });
});
after(async () => { await app?.stop(); });

test("a profile's Test & Enable pages through its mailboxes, one short message per step", async () => {
  const p = await app.call("POST", "/api/profiles", { body: { name: "Many", incoming: { host: "pop.contoso.test" }, outgoing: { host: "smtp.contoso.test" } } });
  const count = PAGE_SIZE * 2 + 17;
  for (let i = 0; i < count; i += 20) {
    await Promise.all(Array.from({ length: Math.min(20, count - i) }, (_, j) => app.call("POST", "/api/mailboxes", {
      // No sync method: the test step has nothing to connect to, so the fan-out itself is measured.
      body: { owner: { type: "queue", id: `q-many-${i + j}` }, emailAddress: `many${i + j}@contoso.test`, profileId: p.body.id, incomingMethod: "none", outgoingMethod: "none" },
    })));
  }
  const started = await app.call("POST", `/api/profiles/${p.body.id}/test-and-enable`);
  assert.equal(started.status, 202);
  const queue = app.services.storage.queues.getQueueClient(QUEUES.test);
  let steps = 0;
  for (;;) {
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32 });
    if (receivedMessageItems.length === 0) break;
    for (const m of receivedMessageItems) {
      await handleTestMessage(app.services, testMessage.parse(JSON.parse(Buffer.from(m.messageText, "base64").toString("utf8"))));
      await queue.deleteMessage(m.messageId, m.popReceipt);
      steps++;
    }
  }
  const job = (await app.call("GET", `/api/jobs/${started.body.jobId}`)).body;
  assert.deepEqual([job.status, job.total, job.done], ["succeeded", count, count]);
  assert.equal(steps, count + 3, "one step per mailbox plus one per page");
  assert.ok(job.results.every((r: any) => r.error === null && r.incomingStatus === "notRun"));
});
