import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startTestApp, sampleProfile, type TestApp } from "../support/app.js";

let app: TestApp;
before(async () => { app = await startTestApp(); });
after(async () => { await app?.stop(); });

describe("profile owner", () => {
  test("is optional (null in the view), set on create, changed and cleared by PATCH, and stored", async () => {
    const none = await app.call("POST", "/api/profiles", { body: sampleProfile({ name: "Owner none" }) });
    assert.equal(none.status, 201, none.text);
    assert.equal(none.body.owner, null);

    const owner = { type: "user", id: "u-7", name: "Mail admin" };
    const created = await app.call("POST", "/api/profiles", { body: sampleProfile({ name: "Owned", owner }) });
    assert.equal(created.status, 201, created.text);
    assert.deepEqual(created.body.owner, owner);
    assert.deepEqual((await app.services.repos.profiles.require(created.body.id)).doc.owner, owner);
    const got = await app.call("GET", `/api/profiles/${created.body.id}`);
    assert.deepEqual(got.body.owner, owner);

    // A PATCH that does not name the owner keeps it.
    const other = await app.call("PATCH", `/api/profiles/${created.body.id}`, { body: { description: "x" } });
    assert.deepEqual(other.body.owner, owner);

    const queue = await app.call("PATCH", `/api/profiles/${created.body.id}`, { body: { owner: { type: "queue", id: "q-support" } } });
    assert.equal(queue.status, 200, queue.text);
    assert.deepEqual(queue.body.owner, { type: "queue", id: "q-support" });

    const cleared = await app.call("PATCH", `/api/profiles/${created.body.id}`, { body: { owner: null } });
    assert.equal(cleared.status, 200, cleared.text);
    assert.equal(cleared.body.owner, null);
    assert.equal((await app.services.repos.profiles.require(created.body.id)).doc.owner, null);
  });

  test("a bad owner is a 400 naming each bad field, and nothing is stored", async () => {
    const res = await app.call("POST", "/api/profiles", {
      body: sampleProfile({ name: "Bad owner", owner: { type: "team", id: " ", extra: 1 } }),
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, "VALIDATION_FAILED");
    const paths = res.body.error.details.map((d: { path: string }) => d.path).sort();
    assert.deepEqual(paths, ["owner.extra", "owner.id", "owner.type"]);
    const list = await app.call("GET", "/api/profiles");
    assert.ok(!list.body.items.some((p: { name: string }) => p.name === "Bad owner"));

    const created = await app.call("POST", "/api/profiles", { body: sampleProfile({ name: "Keep owner", owner: { type: "user", id: "u-1" } }) });
    const patch = await app.call("PATCH", `/api/profiles/${created.body.id}`, { body: { owner: { type: "user" } } });
    assert.equal(patch.status, 400);
    assert.deepEqual(patch.body.error.details.map((d: { path: string }) => d.path), ["owner.id"]);
    assert.deepEqual((await app.services.repos.profiles.require(created.body.id)).doc.owner, { type: "user", id: "u-1" });
  });

  test("a profile stored before owners existed reads as owner null", async () => {
    const created = await app.call("POST", "/api/profiles", { body: sampleProfile({ name: "Legacy" }) });
    await app.services.repos.profiles.update(created.body.id, (p) => {
      const { owner: _dropped, ...legacy } = p;
      return legacy;
    });
    const got = await app.call("GET", `/api/profiles/${created.body.id}`);
    assert.equal(got.status, 200);
    assert.equal(got.body.owner, null);
  });

  test("OpenAPI documents owner in create, patch and the view", async () => {
    const doc = (await app.call("GET", "/api/openapi.json")).body;
    const json = (op: { requestBody?: { content: Record<string, { schema: unknown }> } }): string => JSON.stringify(op.requestBody?.content["application/json"]?.schema);
    assert.match(json(doc.paths["/api/profiles"].post), /"owner"/);
    assert.match(json(doc.paths["/api/profiles/{id}"].patch), /"owner"/);
    assert.match(JSON.stringify(doc.paths["/api/profiles/{id}"].get.responses["200"]), /"owner"/);
  });
});
