/**
 * @module The app's custom metrics, in one place: names, kinds, units and the dimensions they may
 * carry. Application Insights stores them in `customMetrics` under these names; infra's alert
 * rules and workbook query them, and docs/telemetry.md lists them (tests keep all three in step).
 */

export type MetricKind = "counter" | "histogram" | "gauge";

export interface MetricDefinition {
  kind: MetricKind;
  unit: string;
  description: string;
}

export const METRICS = {
  "emailsync.messages.received": { kind: "counter", unit: "{message}", description: "Incoming messages filed as email activities" },
  "emailsync.messages.skipped": { kind: "counter", unit: "{message}", description: "Incoming messages left out by the mailbox's filter or cut-off" },
  "emailsync.messages.quarantined": { kind: "counter", unit: "{message}", description: "Incoming messages kept raw and quarantined (unparsable, too large, over a limit)" },
  "emailsync.messages.sent": { kind: "counter", unit: "{message}", description: "Outgoing emails accepted by the SMTP server" },
  "emailsync.messages.failed": { kind: "counter", unit: "{message}", description: "Outgoing emails that failed for good" },
  "emailsync.poll.duration": { kind: "histogram", unit: "ms", description: "One mailboxIncoming run (POP3 poll), by outcome" },
  "emailsync.send.duration": { kind: "histogram", unit: "ms", description: "One mailboxOutgoing run (SMTP session), by outcome" },
  "emailsync.mailbox.disabled": { kind: "counter", unit: "{mailbox}", description: "A mailbox direction disabled by the error policy" },
  "emailsync.mailbox.postponed": { kind: "counter", unit: "{mailbox}", description: "A mailbox direction postponed after a transient failure" },
  "emailsync.queue.depth": { kind: "gauge", unit: "{message}", description: "Approximate messages in a queue, -poison queues included, sampled every scheduler tick" },
} as const satisfies Record<string, MetricDefinition>;

export type MetricName = keyof typeof METRICS;

/**
 * The only dimensions a metric carries: ids and closed codes, never an address, a subject, a body
 * or a secret. Anything else handed to a Telemetry is dropped.
 */
export interface Dimensions {
  "mailbox.id"?: string;
  "profile.id"?: string;
  direction?: "incoming" | "outgoing";
  /** The run's result: PollResult status, sendMailbox's RunResult, or `error` when it threw. */
  outcome?: string;
  "error.code"?: string;
  queue?: string;
  "queue.poison"?: boolean;
}

export const DIMENSION_NAMES: readonly (keyof Dimensions)[] = ["mailbox.id", "profile.id", "direction", "outcome", "error.code", "queue", "queue.poison"];

/** Longest dimension value kept (ids are 36 characters, codes shorter); longer ones are cut. */
export const MAX_DIMENSION_LENGTH = 128;

/** The dimensions with unknown keys dropped and long values cut: what every Telemetry records. */
export function cleanDimensions(dims: Dimensions): Dimensions {
  const out: Record<string, string | boolean> = {};
  for (const name of DIMENSION_NAMES) {
    const v = (dims as Record<string, unknown>)[name];
    if (typeof v === "boolean") out[name] = v;
    else if (typeof v === "string" && v !== "") out[name] = v.slice(0, MAX_DIMENSION_LENGTH);
  }
  return out;
}
