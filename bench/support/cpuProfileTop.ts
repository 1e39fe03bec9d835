/**
 * Summarises V8 .cpuprofile files (from bench/support/cpuProfile.ts or node --cpu-prof): the top
 * functions by self time and by total (inclusive) time, as a share of the window's samples.
 *
 *   node --import tsx bench/support/cpuProfileTop.ts <file.cpuprofile>... [--top 25] [--match lokijs] [--callers Collection.findOne]
 *
 * --match keeps only functions whose name or file contains the text (inclusive list).
 * --callers NAME also lists the callers of the functions named NAME (exactly), by their time in it.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const top = Number(opt("--top") ?? 25);
const match = opt("--match");
const callersOf = opt("--callers");

const add = (m: Map<string, number>, k: string, v: number): void => { m.set(k, (m.get(k) ?? 0) + v); };

for (const file of args) {
  const p = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const nodes = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (id: number): string => {
    const f = nodes.get(id)!.callFrame;
    const url = f.url ? f.url.replace(/^file:\/\//, "").replace(/.*node_modules\//, "") : "";
    return `${f.functionName || "(anonymous)"} ${url ? `${url}:${f.lineNumber + 1}` : ""}`.trim();
  };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const callers = new Map<string, number>();
  let sum = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i + 1] ?? 0; // the delta after a sample is how long it stood
    sum += dt;
    const sampled = p.samples[i];
    if (sampled === undefined) continue;
    let id: number | undefined = sampled;
    add(self, key(sampled), dt);
    const seen = new Set<string>();
    let counted = false;
    while (id !== undefined) {
      const k = key(id);
      if (!seen.has(k)) { seen.add(k); add(total, k, dt); }
      const up = parent.get(id);
      if (!counted && callersOf && nodes.get(id)!.callFrame.functionName === callersOf && up !== undefined) {
        counted = true; // the innermost call only
        add(callers, key(up), dt);
      }
      id = up;
    }
  }
  const ms = (us: number): string => (us / 1000).toFixed(0);
  const pct = (us: number): string => ((100 * us) / Math.max(1, sum)).toFixed(1);
  const list = (m: Map<string, number>, keep: (k: string) => boolean = () => true): void => {
    for (const [k, v] of [...m].filter(([k]) => keep(k)).sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(v).padStart(5)}%  ${ms(v).padStart(7)} ms  ${k}`);
  };
  console.log(`\n## ${basename(file)}: ${ms(sum)} ms sampled`);
  console.log(["(idle)", "(program)", "(garbage collector)"].map((k) => `${k}: ${ms(self.get(k) ?? 0)} ms`).join(", "));
  console.log(`\nself time (top ${top}):`);
  list(self);
  console.log(`\ntotal time${match ? ` (functions matching ${match})` : ""} (top ${top}):`);
  list(total, (k) => !match || k.includes(match));
  if (callersOf) {
    console.log(`\ncallers of ${callersOf} (time spent in it):`);
    list(callers);
  }
}
