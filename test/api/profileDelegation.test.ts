/**
 * The profile fields of delegation and the rule that profile credentials belong to
 * `authenticateUsing: profileCredentials` only: what is accepted, the 400s (with their paths, and
 * nothing stored), and what a switch to mailbox credentials drops.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { TABLES } from "../../shared/storage/names.js";
import { MASTER_KEY, startTestApp, sampleProfile, type TestApp } from "../support/app.js";

let app: TestApp;
before(async () => { app = await startTestApp(); });
after(async () => { await app?.stop(); });

const SVC = { userName: "svc", password: "svc-pw-123" };
let seq = 0;
const name = (): string => `Delegation ${++seq}`;
const paths = (res: { body: any }): string[] => res.body.error.details.map((d: { path: string }) => d.path).sort();
const delegated = (over: Record<string, unknown> = {}, incoming: Record<string, unknown> = { delegation: "saslAuthzid" }): Record<string, unknown> =>
  sampleProfile({ name: name(), incoming: { host: "pop.contoso.test", useSsl: true, ...incoming }, authenticateUsing: "profileCredentials", credentials: SVC, ...over });

/** Every secret's name and sealed value in the embedded store (as noSideEffects.test.ts reads it). */
async function secretRows(): Promise<string[]> {
  const rows: string[] = [];
  for await (const e of app.services.storage.table(TABLES.secrets).listEntities<{ ciphertext?: string }>()) rows.push(`${e.rowKey}:${e.ciphertext ?? ""}`);
  return rows.sort();
}

async function profileCount(): Promise<number> {
  return (await app.call("GET", "/api/profiles?top=1000")).body.items.length;
}

describe("profile delegation fields", () => {
  test("default none with separator *; set on create and shown in the view", async () => {
    const plain = await app.call("POST", "/api/profiles", { body: sampleProfile({ name: name() }) });
    assert.equal(plain.status, 201, plain.text);
    assert.deepEqual([plain.body.incoming.delegation, plain.body.incoming.delegationSeparator], ["none", "*"]);
    const d = await app.call("POST", "/api/profiles", { body: delegated({}, { delegation: "loginSeparator", delegationSeparator: "%%" }) });
    assert.equal(d.status, 201, d.text);
    assert.deepEqual([d.body.incoming.delegation, d.body.incoming.delegationSeparator], ["loginSeparator", "%%"]);
    assert.deepEqual((await app.call("GET", `/api/profiles/${d.body.id}`)).body.incoming, d.body.incoming);
  });

  test("400s name each bad field and store nothing", async () => {
    const before = await profileCount();
    const cases: [Record<string, unknown>, string[]][] = [
      // Delegation needs the profile's account.
      [sampleProfile({ name: name(), incoming: { host: "pop.contoso.test", delegation: "saslAuthzid" } }), ["incoming.delegation"]],
      [delegated({}, { delegation: "sudo" }), ["incoming.delegation"]],
      [delegated({}, { delegation: "loginSeparator", delegationSeparator: "" }), ["incoming.delegationSeparator"]],
      [delegated({}, { delegation: "loginSeparator", delegationSeparator: "a b" }), ["incoming.delegationSeparator"]],
      [delegated({}, { delegation: "loginSeparator", delegationSeparator: "123456789" }), ["incoming.delegationSeparator"]],
      // An authzid travels only in SASL PLAIN; token logins are per mailbox already.
      [delegated({}, { delegation: "saslAuthzid", authProtocol: "user" }), ["incoming.authProtocol"]],
      [delegated({}, { delegation: "saslAuthzid", authProtocol: "apop" }), ["incoming.authProtocol"]],
      [delegated({}, { delegation: "loginSeparator", authProtocol: "xoauth2" }), ["incoming.authProtocol", "oauth"]],
      // The server would split "<mailbox>*s*vc" at the wrong separator.
      [delegated({ credentials: { userName: "s*vc", password: "pw-123456" } }, { delegation: "loginSeparator" }), ["credentials.userName"]],
      // Small item of issue 11: profile credentials with mailbox credentials.
      [sampleProfile({ name: name(), credentials: SVC }), ["credentials"]],
      [sampleProfile({ name: name(), authenticateUsing: "mailboxCredentials", credentials: { userName: "svc" } }), ["credentials"]],
    ];
    for (const [body, expected] of cases) {
      const res = await app.call("POST", "/api/profiles", { body });
      assert.equal(res.status, 400, `${JSON.stringify(body)} → ${res.text}`);
      assert.equal(res.body.error.code, "VALIDATION_FAILED");
      assert.deepEqual(paths(res), expected, JSON.stringify(body));
    }
    assert.equal(await profileCount(), before);
  });

  test("PATCH: credentials refused on a mailbox-credentials profile, secret store untouched", async () => {
    const p = await app.call("POST", "/api/profiles", { body: sampleProfile({ name: name() }) });
    const secretsBefore = await secretRows();
    const res = await app.call("PATCH", `/api/profiles/${p.body.id}`, { body: { credentials: SVC } });
    assert.equal(res.status, 400, res.text);
    assert.deepEqual(paths(res), ["credentials"]);
    assert.equal((await app.services.repos.profiles.require(p.body.id)).doc.credentials, null);
    assert.deepEqual(await secretRows(), secretsBefore);
    // Delegation on that profile is refused too, and sending null credentials is fine.
    const del = await app.call("PATCH", `/api/profiles/${p.body.id}`, { body: { incoming: { delegation: "saslAuthzid" }, credentials: null } });
    assert.deepEqual(paths(del), ["incoming.delegation"]);
  });

  test("PATCH switching to mailboxCredentials drops the profile's credentials (secret deleted) and its delegation", async () => {
    const p = await app.call("POST", "/api/profiles", { body: delegated() });
    const secretName = (await app.services.repos.profiles.require(p.body.id)).doc.credentials!.secretName!;
    assert.equal(await app.services.secrets.get(secretName), SVC.password);
    const res = await app.call("PATCH", `/api/profiles/${p.body.id}`, { body: { authenticateUsing: "mailboxCredentials" } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.credentials, null);
    assert.equal(res.body.incoming.delegation, "none");
    await assert.rejects(app.services.secrets.get(secretName));
    // Naming credentials in that same switch is refused, not silently dropped.
    const q = await app.call("POST", "/api/profiles", { body: delegated() });
    const both = await app.call("PATCH", `/api/profiles/${q.body.id}`, { body: { authenticateUsing: "mailboxCredentials", credentials: SVC } });
    assert.equal(both.status, 400);
    assert.deepEqual(paths(both), ["credentials"]);
    assert.equal((await app.call("GET", `/api/profiles/${q.body.id}`)).body.incoming.delegation, "saslAuthzid");
  });

  test("secret binding: a delegation change re-points the profile password; a separator change under none does not", async () => {
    const p = await app.call("POST", "/api/profiles", { body: delegated({}, { delegation: "none" }) });
    const sep = await app.call("PATCH", `/api/profiles/${p.body.id}`, { body: { incoming: { delegationSeparator: "#" } } });
    assert.equal(sep.status, 200, sep.text);
    const to = await app.call("PATCH", `/api/profiles/${p.body.id}`, { body: { incoming: { delegation: "saslAuthzid" } } });
    assert.equal(to.status, 400);
    assert.equal(to.body.error.code, "SECRET_REENTRY_REQUIRED");
    assert.deepEqual(paths(to), ["credentials.password"]);
    const approver = await app.call("PATCH", `/api/profiles/${p.body.id}`, { body: { incoming: { delegation: "saslAuthzid" } }, key: MASTER_KEY });
    assert.equal(approver.status, 200, approver.text);
    const back = await app.call("PATCH", `/api/profiles/${p.body.id}`, { body: { incoming: { delegation: "none" } } });
    assert.equal(back.status, 400, "back to none opens the account's own maildrop: also a new target");
  });

  test("a profile stored before delegation existed reads as none and a PATCH of another field does not reset its mailboxes", async () => {
    const p = await app.call("POST", "/api/profiles", { body: sampleProfile({ name: name() }) });
    await app.services.repos.profiles.update(p.body.id, (doc) => {
      const { delegation: _d, delegationSeparator: _s, ...incoming } = doc.incoming;
      return { ...doc, incoming };
    });
    const m = await app.call("POST", "/api/mailboxes", { body: { owner: { type: "queue", id: `q-legacy-${seq}` }, emailAddress: `legacy${seq}@contoso.test`, profileId: p.body.id } });
    assert.equal(m.status, 201, m.text);
    await app.services.repos.mailboxes.update(m.body.id, (x) => ({ ...x, incoming: { ...x.incoming, status: "success" } }));
    const got = await app.call("GET", `/api/profiles/${p.body.id}`);
    assert.deepEqual([got.body.incoming.delegation, got.body.incoming.delegationSeparator], ["none", "*"]);
    const patched = await app.call("PATCH", `/api/profiles/${p.body.id}`, { body: { description: "unrelated" } });
    assert.equal(patched.status, 200, patched.text);
    assert.equal((await app.call("GET", `/api/mailboxes/${m.body.id}`)).body.incomingStatus, "success");
  });
});
