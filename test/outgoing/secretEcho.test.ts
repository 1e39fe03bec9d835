/**
 * An SMTP server that quotes the password it was sent in a reply (a hostile or badly written
 * server): the reply lands in the email's error and its alert, so the secret must be cut out first.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { SMTPServer } from "smtp-server";
import type { AddressInfo } from "node:net";
import { sendMailbox } from "../../shared/sync/outgoing/sendMailbox.js";
import { alertsFor, createSender, emailOf, postEmail, startOutgoingApp, type OutgoingApp } from "./support/fixture.js";

const PASSWORD = "echo-me-Pa55word";
let env: OutgoingApp;
let server: SMTPServer;
let port = 0;

before(async () => {
  env = await startOutgoingApp();
  let heard = "";
  server = new SMTPServer({
    disabledCommands: ["STARTTLS"], allowInsecureAuth: true, authMethods: ["PLAIN", "LOGIN"], logger: false, disableReverseLookup: true,
    onAuth: (auth, _s, cb) => { heard = auth.password ?? ""; cb(null, { user: auth.username }); },
    onMailFrom: (_a, _s, cb) => cb(Object.assign(new Error(`5.7.1 sender refused, you said ${heard} (${Buffer.from(heard).toString("base64")})`), { responseCode: 550 })),
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.server.address() as AddressInfo).port;
});
after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await env?.app.stop();
});

test("a password the SMTP server echoes in its reply never reaches the email's error or the alert", async () => {
  const sender = await createSender(env.app, { port, useSsl: false, password: PASSWORD, profile: { allowCredentialsOverInsecureChannels: true } });
  const e = await postEmail(env.app, { mailboxId: sender.mailboxId, to: ["bob@fabrikam.test"], subject: "hi", text: "hello" });
  await sendMailbox(env.app.services, sender.mailboxId);
  const failed = await emailOf(env.app, e.id);
  assert.equal(failed.status, "failed");
  assert.match(failed.error?.message ?? "", /sender refused/);
  const b64 = Buffer.from(PASSWORD).toString("base64");
  for (const text of [JSON.stringify(failed), JSON.stringify(await alertsFor(env.app, sender.mailboxId))]) {
    assert.ok(!text.includes(PASSWORD) && !text.includes(b64), `secret in ${text.slice(0, 300)}`);
  }
  assert.match(failed.error?.message ?? "", /\[secret\]/);
});
