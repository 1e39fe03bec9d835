import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startTestApp, sampleProfile, type TestApp } from "../support/app.js";

let app: TestApp;
before(async () => { app = await startTestApp(); });
after(async () => { await app?.stop(); });

describe("profiles", () => {
  test("create fills ports on save, hides the password, and reads back", async () => {
    const res = await app.call("POST", "/api/profiles", {
      body: sampleProfile({
        name: "Ports",
        incoming: { host: "pop.contoso.test", useSsl: false },
        authenticateUsing: "profileCredentials",
        credentials: { userName: "svc", password: "s3cret-P@ss" },
      }),
    });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.incoming.port, 110);
    assert.equal(res.body.outgoing.port, 465);
    assert.equal(res.body.incoming.authProtocol, "auto");
    assert.deepEqual(res.body.credentials, { userName: "svc", hasPassword: true });
    assert.equal(res.body.minPollingIntervalMinutes, 5);
    assert.equal(res.body.maxConcurrentConnections, 10);
    assert.ok(res.body.id && res.body.etag && res.body.createdAt);
    assert.equal(res.headers.get("etag"), res.body.etag);
    assert.ok(!res.text.includes("s3cret-P@ss"));

    const got = await app.call("GET", `/api/profiles/${res.body.id}`);
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, res.body);
    assert.ok(!got.text.includes("s3cret-P@ss"));
    // The password really is stored, under the secret name kept by the entity.
    const stored = await app.services.repos.profiles.require(res.body.id);
    assert.equal(await app.services.secrets.get(stored.doc.credentials!.secretName!), "s3cret-P@ss");
  });

  test("400 lists every bad field with its path, unknown fields included", async () => {
    const res = await app.call("POST", "/api/profiles", {
      body: { name: "", incoming: { host: "pop.contoso.test", port: 70000, bogus: 1 }, outgoing: { host: "smtp" }, bogusField: true },
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, "VALIDATION_FAILED");
    const paths = res.body.error.details.map((d: { path: string }) => d.path).sort();
    assert.deepEqual(paths, ["bogusField", "incoming.bogus", "incoming.port", "name"]);
  });

  test("missing required fields and malformed JSON", async () => {
    const missing = await app.call("POST", "/api/profiles", { body: { incoming: { host: "x" } } });
    assert.equal(missing.status, 400);
    const paths = missing.body.error.details.map((d: { path: string }) => d.path).sort();
    assert.deepEqual(paths, ["name", "outgoing"]);
    const bad = await app.call("POST", "/api/profiles", { rawBody: "{not json", headers: { "content-type": "application/json" } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, "MALFORMED_JSON");
  });

  test("profileCredentials without a password is a 400 on credentials.password", async () => {
    const res = await app.call("POST", "/api/profiles", {
      body: sampleProfile({ name: "No pass", authenticateUsing: "profileCredentials", credentials: { userName: "svc" } }),
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.details[0].path, "credentials.password");
  });

  test("duplicate names conflict, case-insensitively, even when created concurrently", async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => app.call("POST", "/api/profiles", { body: sampleProfile({ name: i % 2 ? "Race" : "RACE" }) })),
    );
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [201, 409, 409, 409, 409, 409]);
    const conflictBody = results.find((r) => r.status === 409)!.body;
    assert.equal(conflictBody.error.code, "CONFLICT");
  });

  test("PATCH merges, If-Match is honoured, read-only fields are ignored", async () => {
    const created = await app.call("POST", "/api/profiles", { body: sampleProfile({ name: "Patch me" }) });
    const id = created.body.id;
    const patched = await app.call("PATCH", `/api/profiles/${id}`, {
      body: { ...created.body, description: "changed", incoming: { port: 1995 } },
      headers: { "if-match": created.body.etag },
    });
    assert.equal(patched.status, 200, patched.text);
    assert.equal(patched.body.description, "changed");
    assert.equal(patched.body.incoming.port, 1995);
    assert.equal(patched.body.incoming.host, "pop.contoso.test");
    assert.notEqual(patched.body.etag, created.body.etag);

    const stale = await app.call("PATCH", `/api/profiles/${id}`, { body: { description: "lost" }, headers: { "if-match": created.body.etag } });
    assert.equal(stale.status, 412);
    assert.equal(stale.body.error.code, "PRECONDITION_FAILED");
    const staleDelete = await app.call("DELETE", `/api/profiles/${id}`, { headers: { "if-match": created.body.etag } });
    assert.equal(staleDelete.status, 412);
    const again = await app.call("GET", `/api/profiles/${id}`);
    assert.equal(again.body.description, "changed");

    const renameToTaken = await app.call("PATCH", `/api/profiles/${id}`, { body: { name: "Ports" } });
    assert.equal(renameToTaken.status, 409);
  });

  test("switching SSL off moves a default port along", async () => {
    const created = await app.call("POST", "/api/profiles", { body: sampleProfile({ name: "SSL switch" }) });
    const res = await app.call("PATCH", `/api/profiles/${created.body.id}`, { body: { incoming: { useSsl: false }, outgoing: { useSsl: false } } });
    assert.equal(res.body.incoming.port, 110);
    assert.equal(res.body.outgoing.port, 587);
  });

  test("list pages with a continuation token", async () => {
    for (let i = 0; i < 3; i++) await app.call("POST", "/api/profiles", { body: sampleProfile({ name: `Paged ${i}` }) });
    const seen = new Set<string>();
    let token: string | null = null;
    let pages = 0;
    do {
      const q: string = token ? `&continuationToken=${encodeURIComponent(token)}` : "";
      const res = await app.call("GET", `/api/profiles?top=2${q}`);
      assert.equal(res.status, 200);
      assert.ok(res.body.items.length <= 2);
      for (const p of res.body.items) seen.add(p.id);
      token = res.body.continuationToken;
      pages++;
    } while (token && pages < 20);
    assert.ok(seen.size >= 5, `saw ${seen.size}`);
    assert.ok(pages >= 3);
    const badTop = await app.call("GET", "/api/profiles?top=5000");
    assert.equal(badTop.status, 400);
    assert.equal(badTop.body.error.details[0].path, "top");
  });

  test("a profile in use cannot be deleted; an unused one can", async () => {
    const p = await app.call("POST", "/api/profiles", { body: sampleProfile({ name: "In use" }) });
    const m = await app.call("POST", "/api/mailboxes", {
      body: { owner: { type: "user", id: "u-inuse" }, emailAddress: "inuse@contoso.test", profileId: p.body.id },
    });
    assert.equal(m.status, 201, m.text);
    const blocked = await app.call("DELETE", `/api/profiles/${p.body.id}`);
    assert.equal(blocked.status, 409);
    assert.match(blocked.body.error.message, /In use/);
    assert.equal((await app.call("DELETE", `/api/mailboxes/${m.body.id}`)).status, 204);
    assert.equal((await app.call("DELETE", `/api/profiles/${p.body.id}`)).status, 204);
    assert.equal((await app.call("GET", `/api/profiles/${p.body.id}`)).status, 404);
    assert.equal((await app.call("DELETE", `/api/profiles/${p.body.id}`)).status, 404);
  });
});
