import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Timer } from "@azure/functions";
import { startDevHost } from "../../devhost/host.js";
import type { DevHostLogEntry } from "../../devhost/invocation.js";
import { resolveSettingTokens } from "../../devhost/timers.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("dev host: timers", () => {
  it("resolves %SETTING% tokens from app settings", () => {
    assert.equal(resolveSettingTokens("%S%", { S: "0 */1 * * * *" }, "t"), "0 */1 * * * *");
    assert.equal(resolveSettingTokens("0 %M% * * * *", { M: "*/5" }, "t"), "0 */5 * * * *");
    assert.throws(() => resolveSettingTokens("%MISSING%", {}, "Timer 'x'"), /Timer 'x': '%MISSING%' does not resolve.*MISSING/);
  });

  it("refuses to start with a schedule that does not resolve or parse", async () => {
    const handler = (): Promise<void> => Promise.resolve();
    await assert.rejects(
      startDevHost({ definitions: [{ kind: "timer", name: "t", schedule: "%NOPE%", handler }], settings: {}, port: 0, hostJson: {}, log: () => undefined }),
      /NOPE/,
    );
    await assert.rejects(
      startDevHost({ definitions: [{ kind: "timer", name: "t", schedule: "0 */5 * * *", handler }], settings: {}, port: 0, hostJson: {}, log: () => undefined }),
      /six fields/,
    );
  });

  it("fires every second, never overlaps a slow run, and survives a failing one", async () => {
    const logs: DevHostLogEntry[] = [];
    let running = 0, maxRunning = 0, slowStarts = 0, failing = 0;
    const timers: Timer[] = [];
    const host = await startDevHost({
      definitions: [
        {
          kind: "timer", name: "slow", schedule: "*/1 * * * * *",
          handler: async (timer) => {
            timers.push(timer);
            slowStarts++;
            running++;
            maxRunning = Math.max(maxRunning, running);
            await sleep(1200);
            running--;
          },
        },
        { kind: "timer", name: "failing", schedule: "%FAST%", handler: () => { failing++; return Promise.reject(new Error("tick failed")); } },
      ],
      settings: { FAST: "*/1 * * * * *" },
      port: 0,
      hostJson: {},
      log: (e) => logs.push(e),
    });
    try {
      await sleep(2700);
    } finally {
      await host.stop();
    }
    assert.equal(maxRunning, 1, "two runs of one timer overlapped");
    assert.ok(slowStarts >= 1 && slowStarts <= 2, `slow timer ran ${slowStarts} times in 2.7 s with 1.2 s runs`);
    assert.ok(logs.some((l) => l.level === "warn" && l.function === "slow" && /skipped/.test(l.msg)), "no skipped tick was logged");
    assert.ok(failing >= 2, `failing timer ran ${failing} times; errors must not stop it`);
    assert.ok(logs.some((l) => l.level === "error" && l.function === "failing" && l.detail === "tick failed"));

    const t = timers[0];
    assert.ok(t);
    assert.equal(t.isPastDue, false);
    assert.deepEqual(t.schedule, { adjustForDST: false });
    const { last, next, lastUpdated } = t.scheduleStatus;
    assert.ok(Date.parse(next) > Date.parse(last));
    assert.equal(new Date(next).getUTCMilliseconds(), 0);
    assert.ok(Math.abs(Date.parse(lastUpdated) - Date.now()) < 10_000);
  });
});
