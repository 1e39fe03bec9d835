/**
 * GET /api/operations and GET /api/me, the console's two data routes: queue depths with every
 * poison queue, the scheduler's last run (null until it runs, then recorded by the wrapped timer,
 * failures too), the dependency checks; roles per key; an unknown parameter is a 400; no key 401;
 * both in the OpenAPI document.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ADMIN_KEY, MASTER_KEY, startTestApp, type TestApp } from "../support/app.js";
import { recordingLastRun, readLastRun } from "../../shared/admin/operations.js";
import { TABLES } from "../../shared/storage/names.js";
import type { TimerFunctionDefinition } from "../../shared/runtime/functionDefinitions.js";
import { AppError } from "../../shared/errors.js";

describe("operations and me", () => {
  let app: TestApp;
  before(async () => { app = await startTestApp(); });
  after(async () => { await app?.stop(); });

  it("lists every queue and its poison queue with its depth", async () => {
    await app.services.storage.queues.getQueueClient("mailbox-incoming-poison").sendMessage("e30=");
    await app.services.storage.queues.getQueueClient("mailbox-incoming-poison").sendMessage("e30=");
    const res = await app.call("GET", "/api/operations");
    assert.equal(res.status, 200, res.text);
    const byName: Record<string, { poison: boolean; approximateMessageCount: number }> = Object.fromEntries((res.body.queues as Array<{ name: string; poison: boolean; approximateMessageCount: number }>).map((q) => [q.name, q]));
    assert.deepEqual(Object.keys(byName).sort(), [
      "mailbox-incoming", "mailbox-incoming-poison", "mailbox-outgoing", "mailbox-outgoing-poison", "mailbox-test", "mailbox-test-poison",
    ]);
    assert.equal(byName["mailbox-incoming-poison"]?.poison, true);
    assert.equal(byName["mailbox-incoming-poison"]?.approximateMessageCount, 2);
    assert.equal(byName["mailbox-incoming"]?.poison, false);
    assert.deepEqual(res.body.health, { status: "ok", checks: { tables: "ok", queues: "ok", blobs: "ok", secrets: "ok" } });
  });

  it("the scheduler's last run is null until it runs, then when and how it ended", async () => {
    assert.equal((await app.call("GET", "/api/operations")).body.scheduler.lastRun, null);
    const before = Date.now();
    assert.equal(await app.runFunction("mailboxScheduler"), 202);
    const run = await (async () => {
      for (let i = 0; i < 100; i++) {
        const r = (await app.call("GET", "/api/operations")).body.scheduler;
        if (r.lastRun) return r;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error("the scheduler run was not recorded");
    })();
    assert.equal(run.schedule, app.settings.SCHEDULER_SCHEDULE);
    assert.equal(run.lastRun.outcome, "succeeded");
    assert.equal(run.lastRun.errorCode, null);
    assert.ok(Date.parse(run.lastRun.startedAt) >= before - 1000);
    assert.ok(Date.parse(run.lastRun.finishedAt) >= Date.parse(run.lastRun.startedAt));
  });

  it("a timer run that fails is recorded with its code, and the failure still reaches the host", async () => {
    const failing: TimerFunctionDefinition = {
      kind: "timer", name: "failingTimer", schedule: "0 0 0 1 1 *",
      handler: () => Promise.reject(new AppError("STORAGE_UNAVAILABLE", "down")),
    };
    await assert.rejects(recordingLastRun(failing).handler({} as never, {} as never), /down/);
    const run = await readLastRun(app.services.storage.table(TABLES.coordination), "failingTimer");
    assert.equal(run?.outcome, "failed");
    assert.equal(run?.errorCode, "STORAGE_UNAVAILABLE");
  });

  it("an unknown parameter is 400 VALIDATION_FAILED naming it; no key is 401", async () => {
    const bad = await app.call("GET", "/api/operations?bogus=1");
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, "VALIDATION_FAILED");
    assert.equal(bad.body.error.details[0].path, "bogus");
    assert.equal((await app.call("GET", "/api/operations", { key: null })).status, 401);
    assert.equal((await app.call("GET", "/api/me", { key: "wrong-key-0000" })).status, 401);
  });

  it("me: the admin key is admin, the master key admin and approver, an Easy Auth principal its app roles", async () => {
    assert.deepEqual((await app.call("GET", "/api/me", { key: ADMIN_KEY })).body, { roles: ["admin"], via: "key" });
    assert.deepEqual((await app.call("GET", "/api/me", { key: MASTER_KEY })).body, { roles: ["admin", "approver"], via: "masterKey" });
    process.env.WEBSITE_AUTH_ENABLED = "true";
    try {
      const principal = Buffer.from(JSON.stringify({ claims: [{ typ: "roles", val: "Email.Admin" }, { typ: "roles", val: "Email.Approver" }] })).toString("base64");
      const res = await app.call("GET", "/api/me", { key: null, headers: { "x-ms-client-principal": principal } });
      assert.deepEqual(res.body, { roles: ["admin", "approver"], via: "easyAuth" });
    } finally {
      delete process.env.WEBSITE_AUTH_ENABLED;
    }
  });

  it("the OpenAPI document has both routes and the console", async () => {
    const doc = (await app.call("GET", "/api/openapi.json")).body;
    assert.ok(doc.paths["/api/operations"]?.get, Object.keys(doc.paths).join(", "));
    assert.ok(doc.paths["/api/me"]?.get);
    assert.deepEqual(doc.paths["/api/console/{path}"]?.get?.security, [], "the console needs no key");
    assert.ok(doc.paths["/api/operations"].get.responses["400"]);
    assert.ok(doc.paths["/api/operations"].get.responses["200"].content["application/json"].schema.properties.queues);
  });
});
