/**
 * Azurite for a bench, with the experiment hooks of the benches that look into the emulator:
 * BENCH_AZURITE_PROFILE=<dir> profiles its CPU window by window (cpuProfile.ts), and
 * BENCH_AZURITE_REQUIRE=<file.cjs>[,...] preloads modules into it (a patch to compare against).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import type { AzuriteInstance } from "../../shared/runtime/azurite.js";
import { startAzuriteRetrying } from "./azuriteRetry.js";
import { profilerPreload } from "./cpuProfile.js";
import { azuritePid } from "./procStats.js";

export interface BenchAzurite {
  azurite: AzuriteInstance;
  pid: number;
  /** Starts Azurite's profiler for a window named `label`, or stops it without one (BENCH_AZURITE_PROFILE only). */
  profile: (label?: string) => void;
  /** The profile directory, when profiling. */
  profileDir: string | undefined;
}

export async function startBenchAzurite(): Promise<BenchAzurite> {
  const dir = process.env.BENCH_AZURITE_PROFILE;
  const preloads = (process.env.BENCH_AZURITE_REQUIRE ?? "").split(",").filter(Boolean);
  if (dir) {
    mkdirSync(dir, { recursive: true });
    process.env.AZURITE_CPU_PROF_DIR = dir;
    preloads.push(profilerPreload(dir));
  }
  const nodeOptions = process.env.NODE_OPTIONS;
  // Only the Azurite child gets the preloads: NODE_OPTIONS is restored once it has started.
  if (preloads.length) process.env.NODE_OPTIONS = [nodeOptions ?? "", ...preloads.map((p) => `--require ${JSON.stringify(p)}`)].join(" ").trim();
  const azurite = await startAzuriteRetrying().finally(() => {
    if (!preloads.length) return;
    if (nodeOptions === undefined) delete process.env.NODE_OPTIONS; else process.env.NODE_OPTIONS = nodeOptions;
    delete process.env.AZURITE_CPU_PROF_DIR;
  });
  if (preloads.length) console.error(`  Azurite preloads: ${preloads.join(", ")}`);
  const pid = azuritePid();
  return {
    azurite, pid, profileDir: dir,
    profile: (label) => {
      if (!dir) return;
      if (label) writeFileSync(`${dir}/label`, label);
      process.kill(pid, "SIGUSR2");
    },
  };
}
