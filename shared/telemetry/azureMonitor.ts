/**
 * @module Starts Azure Monitor (the OpenTelemetry distro, @azure/monitor-opentelemetry) when
 * APPLICATIONINSIGHTS_CONNECTION_STRING is set, and only then: functions/index.ts calls it before
 * loading any function. Metrics then go through otelTelemetry.ts, and log records through the
 * OpenTelemetry logs API instead of stdout, which Flex Consumption does not collect. The distro
 * is imported only when it is used, so the dev host and the tests never load it.
 *
 * Telemetry is sent with the app's managed identity when APPLICATIONINSIGHTS_AUTHENTICATION_STRING
 * says `Authorization=AAD;ClientId=<id>` (infra/ sets it; the component has local auth disabled).
 * The automatic HTTP and Azure SDK instrumentations are off: the Functions host already records
 * every invocation as a request, and a dependency per Storage call would multiply the volume (and
 * the bill) by the number of Storage calls per poll (docs/decisions/0023-telemetry.md).
 */
import { ManagedIdentityCredential } from "@azure/identity";
import { logs, SeverityNumber, type AnyValueMap } from "@opentelemetry/api-logs";
import type { LogLevel, LogRecord, LogSink } from "../runtime/logger.js";
import { setLogSink } from "../runtime/logger.js";
import { createOtelTelemetry, METER_NAME } from "./otelTelemetry.js";
import { setTelemetry } from "./telemetry.js";

const SEVERITY: Record<LogLevel, SeverityNumber> = {
  debug: SeverityNumber.DEBUG,
  info: SeverityNumber.INFO,
  warn: SeverityNumber.WARN,
  error: SeverityNumber.ERROR,
};

/** The managed identity's client id in `Authorization=AAD;ClientId=<id>`, if that is what it says. */
export function aadClientId(authenticationString: string | undefined): string | undefined {
  const parts = new Map((authenticationString ?? "").split(";").map((p) => {
    const eq = p.indexOf("=");
    return [p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim()] as const;
  }));
  return parts.get("authorization")?.toUpperCase() === "AAD" ? parts.get("clientid") || undefined : undefined;
}

/**
 * A log record as OpenTelemetry attributes (Application Insights `customDimensions`): primitives
 * as they are, anything else as JSON. The record was redacted by the logger already.
 */
export function toAttributes(record: LogRecord): AnyValueMap {
  const attributes: AnyValueMap = { logger: METER_NAME };
  for (const [k, v] of Object.entries(record)) {
    if (k === "msg" || k === "level" || k === "at" || v === undefined) continue;
    attributes[k] = v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? v : JSON.stringify(v);
  }
  return attributes;
}

export function otelLogSink(): LogSink {
  const logger = logs.getLogger(METER_NAME);
  return (_line, level, record) => {
    logger.emit({ severityNumber: SEVERITY[level], severityText: level.toUpperCase(), body: record.msg, attributes: toAttributes(record), timestamp: new Date(record.at) });
  };
}

export type TelemetryMode = "azureMonitor" | "console";

export async function startTelemetry(env: Record<string, string | undefined> = process.env): Promise<TelemetryMode> {
  const connectionString = env.APPLICATIONINSIGHTS_CONNECTION_STRING;
  if (!connectionString) return "console";
  const { useAzureMonitor } = await import("@azure/monitor-opentelemetry");
  const clientId = aadClientId(env.APPLICATIONINSIGHTS_AUTHENTICATION_STRING);
  useAzureMonitor({
    azureMonitorExporterOptions: { connectionString, ...(clientId ? { credential: new ManagedIdentityCredential({ clientId }) } : {}) },
    instrumentationOptions: { http: { enabled: false }, azureSdk: { enabled: false } },
    enableLiveMetrics: true,
  });
  setTelemetry(createOtelTelemetry());
  setLogSink(otelLogSink());
  return "azureMonitor";
}
