/**
 * Crash safety at scale (issue 9): runs of the app in a child process are cut off at enumerated
 * crash points — a SIGKILL or an injected failure at the Nth Storage request, a SIGKILL at the
 * Nth POP3 or SMTP command — then clean runs finish the work, and the invariants of decisions
 * 0004 and 0005 are checked: nothing lost, nothing duplicated, raw bytes exact, nothing deleted
 * from the server without its activity, nothing sent twice, counters exact.
 * Points come from an uncrashed dry run of each scenario; see points.ts for CRASH_POINTS,
 * CRASH_SEED and CRASH_BUDGET. A JSON report is written to CRASH_REPORT (default in the tmpdir).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCrashEnv, type CrashEnv } from "./env.js";
import { DEFAULT_BUDGET, enumerate, parsePoint, pointId, sample, SCENARIOS, type CrashPoint, type DryRunCounts, type Scenario } from "./points.js";
import { runFetchPoint, type PointReport } from "./fetchScenario.js";
import { runSendPoint } from "./sendScenario.js";

let env: CrashEnv;
before(async () => { env = await startCrashEnv(); });
after(async () => { await env?.stop(); });

const run = (scenario: Scenario, point: CrashPoint | undefined): Promise<PointReport> =>
  scenario === "send" ? runSendPoint(env, point) : runFetchPoint(env, scenario === "fetch-delete", point);

const print = (line: string): void => { process.stdout.write(`${line}\n`); };

function choosePoints(counts: Record<Scenario, DryRunCounts>): CrashPoint[] {
  const listed = process.env.CRASH_POINTS;
  if (listed) return listed.split(",").filter((s) => s.trim() !== "").map(parsePoint);
  const all = enumerate(counts);
  const budgetSetting = process.env.CRASH_BUDGET ?? String(DEFAULT_BUDGET);
  const budget = budgetSetting === "all" ? all.length : Number(budgetSetting);
  const seed = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const chosen = sample(all, budget, seed);
  print(`crash points: ${chosen.length} of ${all.length} enumerated (CRASH_SEED=${seed} CRASH_BUDGET=${budgetSetting})`);
  return chosen;
}

test("crash safety: every crash point loses, duplicates and resends nothing", async (t) => {
  const started = Date.now();
  const counts = {} as Record<Scenario, DryRunCounts>;
  for (const scenario of SCENARIOS) {
    const dry = await run(scenario, undefined);
    assert.deepEqual(dry.problems, [], `the uncrashed ${scenario} run must pass the invariants`);
    counts[scenario] = { storage: dry.storageRequests.length, protocol: dry.protocolCommands.length };
    print(`dry run ${scenario}: ${dry.storageRequests.length} Storage requests, ${dry.protocolCommands.length} ${scenario === "send" ? "SMTP" : "POP3"} commands (${dry.protocolCommands.join(" ")})`);
  }
  const points = choosePoints(counts);
  const failures: { point: string; fired: string | undefined; child: unknown; problems: PointReport["problems"] }[] = [];
  for (const point of points) {
    const id = pointId(point);
    await t.test(id, async () => {
      const report = await run(point.scenario, point);
      if (report.problems.length > 0) {
        failures.push({ point: id, fired: report.fired, child: report.childResult, problems: report.problems });
        print(`FAIL ${id} (${report.fired ?? "not reached"}; child: ${JSON.stringify(report.childResult)})`);
        for (const p of report.problems) print(`  ${p.invariant}: ${p.detail}`);
      }
      assert.deepEqual(report.problems, [], `${id}: ${report.fired ?? "crash point not reached"}`);
    });
  }
  const byInvariant = new Map<string, string[]>();
  for (const f of failures) for (const inv of new Set(f.problems.map((p) => p.invariant))) byInvariant.set(inv, [...(byInvariant.get(inv) ?? []), f.point]);
  const seconds = Math.round((Date.now() - started) / 1000);
  print(`\n${points.length} crash points in ${seconds} s; ${failures.length} failed`);
  for (const [inv, ids] of byInvariant) print(`  ${inv} (${ids.length}): ${ids.join(" ")}`);
  if (failures.length > 0) print(`reproduce: CRASH_POINTS=${failures.map((f) => f.point).join(",")} npm run test:fuzz`);
  const reportPath = process.env.CRASH_REPORT ?? join(tmpdir(), "crash-safety-report.json");
  writeFileSync(reportPath, JSON.stringify({ counts, points: points.map(pointId), failures }, null, 2));
  print(`report: ${reportPath}`);
});
