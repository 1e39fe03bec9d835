/**
 * CPU profiles of the Azurite child, window by window (bench:growth with BENCH_AZURITE_PROFILE=<dir>).
 * profilerPreload writes a small CommonJS module that Azurite preloads (`--require`, through
 * NODE_OPTIONS): it opens an inspector session inside the emulator and starts or stops the V8
 * profiler on every SIGUSR2, so one profile covers one window (a fill, a probe) rather than the run.
 * Each stop writes <dir>/<n>-<label>.cpuprofile, the label read from <dir>/label when the window
 * starts (written by the bench before it signals). Summarise them with
 * `node --import tsx bench/support/cpuProfileTop.ts <files>`, or open them in Chrome DevTools.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const HOOK = `"use strict";
const inspector = require("node:inspector");
const fs = require("node:fs");
const path = require("node:path");
const dir = process.env.AZURITE_CPU_PROF_DIR;
if (dir) {
  const session = new inspector.Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.setSamplingInterval", { interval: Number(process.env.AZURITE_CPU_PROF_INTERVAL_US || 1000) });
  let running = false;
  let n = 0;
  let label = "window";
  process.on("SIGUSR2", () => {
    if (!running) {
      running = true;
      // Read at the start: the bench may write the next window's label before this stop is handled.
      try { label = fs.readFileSync(path.join(dir, "label"), "utf8").trim() || "window"; } catch { label = "window"; }
      session.post("Profiler.start");
      return;
    }
    running = false;
    const file = path.join(dir, String(n++).padStart(2, "0") + "-" + label + ".cpuprofile");
    session.post("Profiler.stop", (err, res) => {
      if (err) fs.writeFileSync(file + ".error", String(err));
      else fs.writeFileSync(file, JSON.stringify(res.profile));
    });
  });
}
`;

/** Writes the profiler hook into `dir` and returns its path (for `--require`; AZURITE_CPU_PROF_DIR=dir turns it on). */
export function profilerPreload(dir: string): string {
  const file = join(dir, "azurite-profiler-hook.cjs");
  writeFileSync(file, HOOK);
  return file;
}
