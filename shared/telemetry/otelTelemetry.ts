/**
 * @module Telemetry through the OpenTelemetry metrics API: one instrument per metric of
 * metrics.ts, created on first use on the meter `email-sync`. The Azure Monitor distro
 * (azureMonitor.ts) exports them to Application Insights `customMetrics`; without a registered
 * MeterProvider the API is a no-op.
 */
import { metrics, type Attributes, type Counter, type Gauge, type Histogram } from "@opentelemetry/api";
import { cleanDimensions, METRICS, type MetricName } from "./metrics.js";
import type { Telemetry } from "./telemetry.js";

export const METER_NAME = "email-sync";

type Instrument = Counter | Histogram | Gauge;

export function createOtelTelemetry(): Telemetry {
  const meter = metrics.getMeter(METER_NAME);
  const instruments = new Map<MetricName, Instrument>();
  const instrument = (name: MetricName): Instrument => {
    let found = instruments.get(name);
    if (!found) {
      const { kind, unit, description } = METRICS[name];
      const options = { unit, description };
      found = kind === "counter" ? meter.createCounter(name, options) : kind === "histogram" ? meter.createHistogram(name, options) : meter.createGauge(name, options);
      instruments.set(name, found);
    }
    return found;
  };
  return {
    emit(metric, value, dims = {}) {
      const attributes = cleanDimensions(dims) as Attributes;
      const i = instrument(metric);
      if (METRICS[metric].kind === "counter") (i as Counter).add(value, attributes);
      else (i as Histogram | Gauge).record(value, attributes);
    },
  };
}
