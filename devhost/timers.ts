/**
 * @module Timer triggers: each timer definition runs on its NCRONTAB schedule (UTC), with
 * `%SETTING%` tokens resolved from app settings as the host resolves them. Like the host, one
 * process never runs two scheduled invocations of the same timer at once: a tick that comes while
 * the previous run is still going is skipped (the host's singleton lock would skip it too).
 */
import { randomUUID } from "node:crypto";
import type { Timer } from "@azure/functions";
import type { TimerFunctionDefinition } from "../shared/runtime/functionDefinitions.js";
import { createContext, drain, runInvocation, type DevHostLog } from "./invocation.js";
import { parseNcrontab, type NcrontabSchedule } from "./ncrontab.js";

/** setTimeout cannot wait longer than 2^31-1 ms (~24.8 days); longer waits are re-armed. */
const MAX_TIMEOUT_MS = 2_147_483_647;
/** A tick that starts this late counts as past due. */
const PAST_DUE_MS = 1000;

export interface TimerRunner {
  /** Runs a timer now (admin API); false when there is no timer by that name. */
  invoke(functionName: string): boolean;
  /** Next scheduled occurrence per timer, for the start-up banner. */
  nextOccurrences(): Record<string, Date>;
  stop(timeoutMs: number): Promise<void>;
}

/** Replaces every `%NAME%` with the app setting NAME; a missing setting is an error, as in the host. */
export function resolveSettingTokens(text: string, settings: Record<string, string | undefined>, what: string): string {
  return text.replace(/%([^%\s]+)%/g, (_m, name: string) => {
    const value = settings[name];
    if (value === undefined || value === "") throw new Error(`${what}: '%${name}%' does not resolve to a value (app setting ${name} is not set)`);
    return value;
  });
}

interface TimerState {
  def: TimerFunctionDefinition;
  schedule: NcrontabSchedule;
  next: Date;
  last: Date;
  handle?: NodeJS.Timeout;
  running: boolean;
}

export function startTimers(definitions: TimerFunctionDefinition[], settings: Record<string, string | undefined>, log: DevHostLog): TimerRunner {
  const startedAt = new Date();
  let stopped = false;
  const inFlight = new Set<Promise<unknown>>();
  const states = new Map<string, TimerState>();
  for (const def of definitions) {
    const expression = resolveSettingTokens(def.schedule, settings, `Timer '${def.name}'`);
    const schedule = parseNcrontab(expression);
    states.set(def.name, { def, schedule, next: schedule.next(startedAt), last: startedAt, running: false });
  }

  const arm = (state: TimerState): void => {
    if (stopped) return;
    const wait = state.next.getTime() - Date.now();
    state.handle = setTimeout(() => tick(state), Math.min(Math.max(wait, 0), MAX_TIMEOUT_MS));
  };

  const run = (state: TimerState, due: Date | null): void => {
    const now = new Date();
    const timer: Timer = {
      isPastDue: due !== null && now.getTime() - due.getTime() > PAST_DUE_MS,
      schedule: { adjustForDST: false },
      scheduleStatus: { last: state.last.toISOString(), next: state.next.toISOString(), lastUpdated: now.toISOString() },
    };
    if (due !== null) state.last = due;
    const invocationId = randomUUID();
    const context = createContext(state.def.name, log, { invocationId, options: { trigger: { type: "timerTrigger", name: "timer" } } });
    const reason = due === null ? "This function was programmatically called via the host APIs." : `Timer fired at ${now.toISOString()}`;
    const p = runInvocation(state.def.name, reason, log, invocationId, () => state.def.handler(timer, context));
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    if (due !== null) {
      state.running = true;
      void p.finally(() => { state.running = false; });
    }
  };

  const tick = (state: TimerState): void => {
    if (stopped) return;
    const due = state.next;
    if (Date.now() < due.getTime()) return arm(state); // woke early (long waits are split)
    state.next = state.schedule.next(new Date(Math.max(due.getTime(), Date.now())));
    arm(state);
    if (state.running) {
      log({ level: "warn", msg: `Timer '${state.def.name}' skipped the occurrence at ${due.toISOString()}: the previous run is still going`, function: state.def.name });
      return;
    }
    run(state, due);
  };

  for (const state of states.values()) arm(state);

  return {
    invoke(functionName) {
      const state = states.get(functionName);
      if (!state || stopped) return false;
      run(state, null);
      return true;
    },
    nextOccurrences: () => Object.fromEntries([...states].map(([name, s]) => [name, s.next])),
    async stop(timeoutMs) {
      stopped = true;
      for (const s of states.values()) clearTimeout(s.handle);
      await drain(inFlight, timeoutMs, log, "timer");
    },
  };
}
