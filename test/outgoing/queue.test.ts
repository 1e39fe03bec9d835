import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { createContext } from "../../devhost/invocation.js";
import { mailboxOutgoingFunction } from "../../functions/mailboxOutgoing.js";
import { ScriptedSmtpServer } from "./support/smtpServer.js";
import { createSender, emailOf, postEmail, startOutgoingApp, type OutgoingApp } from "./support/fixture.js";
import { waitFor } from "../support/waitFor.js";

let env: OutgoingApp;
let server: ScriptedSmtpServer;
before(async () => {
  env = await startOutgoingApp({ queueFunction: true });
  server = await ScriptedSmtpServer.start({ tls: "implicit" });
});
after(async () => {
  await server?.close();
  await env?.app.stop();
});

const context = () => createContext("mailboxOutgoing", () => undefined);

describe("mailboxOutgoing on the queue", () => {
  test("POST /api/emails reaches the server through the queue function, and duplicate deliveries send once", async () => {
    const s = await createSender(env.app, { port: server.port, useSsl: true });
    const e = await postEmail(env.app, { mailboxId: s.mailboxId, to: ["bob@fabrikam.test"] });
    // The same message delivered again, twice at once, while the host's poller runs the original.
    const handler = (): Promise<void> => mailboxOutgoingFunction.handler({ mailboxId: s.mailboxId }, context());
    await Promise.all([handler(), handler()]);
    const sent = await waitFor("the email to be sent", async () => {
      const doc = await emailOf(env.app, e.id);
      return doc.status === "sent" ? doc : undefined;
    });
    await handler();
    await sleep(300);
    assert.equal(sent.attempts, 1);
    assert.equal(server.received.filter((r) => r.sha256 === e.sha256).length, 1);
    const m = (await env.app.services.repos.mailboxes.require(s.mailboxId)).doc;
    assert.deepEqual([m.outgoing.status, m.stats.sent], ["success", 1]);
  });

  test("a malformed message is dropped, not retried into the poison queue", async () => {
    await mailboxOutgoingFunction.handler({ nope: true }, context());
    await mailboxOutgoingFunction.handler("not json", context());
  });
});
