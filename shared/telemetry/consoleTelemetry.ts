/**
 * @module Telemetry for the dev host and tests: the same metrics as in Azure, aggregated per
 * series (metric + dimensions) like an OpenTelemetry export interval and written to the log, one
 * line per series: counters as `sum`, histograms as `count`/`sum`/`max`, gauges as `last`.
 */
import { createLogger, isLogLevel, type Logger } from "../runtime/logger.js";
import { cleanDimensions, METRICS, type Dimensions, type MetricName } from "./metrics.js";
import type { Telemetry } from "./telemetry.js";

/** How often the console implementation writes what it aggregated (Azure Monitor's export interval). */
export const CONSOLE_METRICS_INTERVAL_MS = 60_000;

interface Series {
  metric: MetricName;
  dims: Dimensions;
  count: number;
  sum: number;
  max: number;
  last: number;
}

export interface ConsoleTelemetry extends Telemetry {
  /** Writes and forgets everything aggregated so far (the interval does this on its own). */
  flush(): void;
}

export function createConsoleTelemetry(opts: { log?: Logger; intervalMs?: number } = {}): ConsoleTelemetry {
  const log = opts.log ?? createLogger({ level: isLogLevel(process.env.LOG_LEVEL) ? process.env.LOG_LEVEL : "info" });
  const series = new Map<string, Series>();
  let timer: NodeJS.Timeout | undefined;

  const flush = (): void => {
    for (const s of series.values()) {
      const kind = METRICS[s.metric].kind;
      const values = kind === "counter" ? { sum: s.sum } : kind === "gauge" ? { last: s.last } : { count: s.count, sum: s.sum, max: s.max };
      log.info("metric", { metric: s.metric, unit: METRICS[s.metric].unit, ...values, ...s.dims });
    }
    series.clear();
  };

  return {
    flush,
    emit(metric, value, dims = {}) {
      const clean = cleanDimensions(dims);
      const key = `${metric} ${JSON.stringify(clean)}`;
      const s = series.get(key) ?? { metric, dims: clean, count: 0, sum: 0, max: -Infinity, last: 0 };
      s.count += 1;
      s.sum += value;
      s.max = Math.max(s.max, value);
      s.last = value;
      series.set(key, s);
      if (!timer) {
        timer = setInterval(flush, opts.intervalMs ?? CONSOLE_METRICS_INTERVAL_MS);
        timer.unref(); // never keeps a process (or a test) alive
      }
    },
  };
}
