/**
 * CPU time of other processes, from /proc (Linux): what Azurite itself spends, which the proxy's
 * wall-clock timings cannot separate from queueing when requests overlap or the machine is busy.
 */
import { readdirSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";

const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"]).stdout?.toString().trim() || 100);

/** utime + stime of a process, in ms (from /proc/<pid>/stat). */
export function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
}

/** The pid of the newest Azurite child of this process (startAzurite does not expose it). */
export function azuritePid(): number {
  const children = readdirSync("/proc/self/task").flatMap((t) => readFileSync(`/proc/self/task/${t}/children`, "utf8").trim().split(/\s+/)).filter(Boolean).map(Number);
  const pids = children.filter((p) => { try { return readFileSync(`/proc/${p}/cmdline`, "utf8").includes("azurite"); } catch { return false; } });
  const pid = pids.sort((a, b) => b - a)[0];
  if (!pid) throw new Error("cannot find the Azurite child process");
  return pid;
}
