/**
 * @module Crash points: where a run is cut off. Each is named `<scenario>:<layer>:<mode>:<N>`
 * (e.g. `fetch-delete:storage:killAfter:17`, `send:smtp:killBefore:6`) and enumerated from the
 * request and command counts of an uncrashed dry run. When there are more than the budget, a
 * seeded sample is taken from every (scenario, layer, mode) group in proportion to its size.
 *   CRASH_POINTS=id,id,...   run exactly these
 *   CRASH_SEED=n             the sample's seed (printed on every run)
 *   CRASH_BUDGET=n|all       how many points (default 150)
 */
import { STORAGE_MODES } from "./storageProxy.js";
import { PROTOCOL_MODES } from "./smtpProxy.js";

export const SCENARIOS = ["fetch-keep", "fetch-delete", "send"] as const;
export type Scenario = (typeof SCENARIOS)[number];
export type Layer = "storage" | "pop3" | "smtp";

export interface CrashPoint {
  scenario: Scenario;
  layer: Layer;
  mode: string;
  at: number;
}

export const DEFAULT_BUDGET = 150;

export const pointId = (p: CrashPoint): string => `${p.scenario}:${p.layer}:${p.mode}:${p.at}`;

export function parsePoint(id: string): CrashPoint {
  const [scenario, layer, mode, at] = id.trim().split(":");
  const s = SCENARIOS.find((x) => x === scenario);
  const modes: readonly string[] = layer === "storage" ? STORAGE_MODES : PROTOCOL_MODES;
  if (!s || (layer !== "storage" && layer !== "pop3" && layer !== "smtp") || !mode || !modes.includes(mode) || !/^\d+$/.test(at ?? "")) {
    throw new Error(`CRASH_POINTS: "${id}" is not <scenario>:<storage|pop3|smtp>:<mode>:<N>`);
  }
  return { scenario: s, layer, mode, at: Number(at) };
}

export interface DryRunCounts {
  storage: number;
  protocol: number;
}

export function enumerate(counts: Record<Scenario, DryRunCounts>): CrashPoint[] {
  const points: CrashPoint[] = [];
  for (const scenario of SCENARIOS) {
    const c = counts[scenario];
    const protocol: Layer = scenario === "send" ? "smtp" : "pop3";
    for (const mode of STORAGE_MODES) for (let at = 1; at <= c.storage; at++) points.push({ scenario, layer: "storage", mode, at });
    for (const mode of PROTOCOL_MODES) for (let at = 1; at <= c.protocol; at++) points.push({ scenario, layer: protocol, mode, at });
  }
  return points;
}

/** mulberry32: small, seedable, the same sequence on every platform. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function sample(all: CrashPoint[], budget: number, seed: number): CrashPoint[] {
  if (all.length <= budget) return all;
  const next = random(seed);
  const groups = new Map<string, CrashPoint[]>();
  for (const p of all) {
    const key = `${p.scenario}:${p.layer}:${p.mode}`;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  const chosen: CrashPoint[] = [];
  for (const group of groups.values()) {
    const share = Math.max(1, Math.round((budget * group.length) / all.length));
    const shuffled = group.map((p) => ({ p, r: next() })).sort((a, b) => a.r - b.r).map((x) => x.p);
    chosen.push(...shuffled.slice(0, share).sort((a, b) => a.at - b.at));
  }
  return chosen;
}
