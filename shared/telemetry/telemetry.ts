/**
 * @module The telemetry the app emits, behind one small interface: `emit(metric, value, dims)`.
 * Azure (APPLICATIONINSIGHTS_CONNECTION_STRING set) gets the OpenTelemetry implementation
 * (otelTelemetry.ts, started by azureMonitor.ts); anywhere else the console one
 * (consoleTelemetry.ts) writes the same metrics to the log. Tests install a recording one.
 */
import { cleanDimensions, type Dimensions, type MetricName } from "./metrics.js";
import { createConsoleTelemetry } from "./consoleTelemetry.js";

export interface Telemetry {
  /** Adds `value` to a counter, records one duration (ms) in a histogram, or sets a gauge. */
  emit(metric: MetricName, value: number, dims?: Dimensions): void;
}

export interface RecordedMetric {
  metric: MetricName;
  value: number;
  dims: Dimensions;
}

/** For tests: keeps every emission, dimensions cleaned as the real implementations clean them. */
export function createRecordingTelemetry(): Telemetry & { recorded: RecordedMetric[] } {
  const recorded: RecordedMetric[] = [];
  return { recorded, emit: (metric, value, dims = {}) => void recorded.push({ metric, value, dims: cleanDimensions(dims) }) };
}

let current: Telemetry | undefined;

/** The process-wide telemetry; the console implementation until another is installed. */
export function telemetry(): Telemetry {
  current ??= createConsoleTelemetry();
  return current;
}

export function setTelemetry(t: Telemetry | undefined): void {
  current = t;
}
