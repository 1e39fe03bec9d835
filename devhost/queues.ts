/**
 * @module Queue triggers over Azure Storage queues (Azurite locally), with the host's semantics
 * (Storage queues extension 5.x): fetch `batchSize` messages and fetch again once the running ones
 * drop to `newBatchThreshold`; back off exponentially up to `maxPollingInterval` while the queue is
 * empty; hide a message while its handler runs (a 10-minute lease renewed at half-time); delete it
 * on success; on failure make it visible again after `visibilityTimeout`; once it has been
 * dequeued `maxDequeueCount` times and fails again, copy its original text to `<queue>-poison`.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { QueueServiceClient, type DequeuedMessageItem, type QueueClient } from "@azure/storage-queue";
import type { QueueFunctionDefinition } from "../shared/runtime/functionDefinitions.js";
import type { MessageEncoding, QueueOptions } from "./hostJson.js";
import { createContext, describeError, drain, runInvocation, type DevHostLog } from "./invocation.js";

/** The host keeps a message invisible this long while its function runs, renewing at half-time. */
const DEFAULT_LEASE_MS = 10 * 60_000;
/** The host's shortest polling interval (QueuePollingIntervals.Minimum). */
const MIN_POLL_MS = 100;

export interface QueueRunnerOptions {
  definitions: QueueFunctionDefinition[];
  /** The storage connection string for a definition's `connection` setting. */
  connectionStringFor(def: QueueFunctionDefinition): string;
  queues: QueueOptions;
  log: DevHostLog;
  leaseMs?: number;
}

export interface QueueRunner {
  /** Runs a queue function now with `input` as its message (admin API); false when there is none. */
  invoke(functionName: string, input: unknown): boolean;
  stop(timeoutMs: number): Promise<void>;
}

/** Undoes the host's message encoding; base64 that does not decode is refused, as the host refuses it. */
export function decodeQueueMessage(text: string, encoding: MessageEncoding): string | null {
  if (encoding === "none") return text;
  const compact = text.replace(/\s+/g, "");
  if (compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) return null;
  return Buffer.from(compact, "base64").toString("utf8");
}

/**
 * What the handler receives: the host hands JavaScript a JSON object or array as parsed JSON
 * (it checks for `{...}` / `[...]`), anything else as the string itself.
 */
export function parseMessageText(text: string): unknown {
  const t = text.trim();
  if ((t.startsWith("{") && t.endsWith("}")) || (t.startsWith("[") && t.endsWith("]"))) {
    try {
      return JSON.parse(t) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

export async function startQueues(options: QueueRunnerOptions): Promise<QueueRunner> {
  const { queues: q, log } = options;
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const abort = new AbortController();
  const inFlight = new Set<Promise<unknown>>();
  const services = new Map<string, QueueServiceClient>();
  const serviceFor = (cs: string): QueueServiceClient => {
    let s = services.get(cs);
    if (!s) services.set(cs, (s = QueueServiceClient.fromConnectionString(cs)));
    return s;
  };
  const track = (p: Promise<unknown>): void => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };

  const listeners: Array<{ def: QueueFunctionDefinition; queue: QueueClient; poison: QueueClient }> = [];
  for (const def of options.definitions) {
    const service = serviceFor(options.connectionStringFor(def));
    const queue = service.getQueueClient(def.queueName);
    const poison = service.getQueueClient(`${def.queueName}-poison`);
    await queue.createIfNotExists();
    await poison.createIfNotExists();
    listeners.push({ def, queue, poison });
  }

  const handle = async (def: QueueFunctionDefinition, queue: QueueClient, poison: QueueClient, m: DequeuedMessageItem): Promise<void> => {
    let receipt = m.popReceipt;
    const toPoison = async (why: string): Promise<void> => {
      log({ level: "warn", msg: `${why} Moving message to queue '${def.queueName}-poison'.`, function: def.name, messageId: m.messageId });
      await poison.sendMessage(m.messageText);
      await queue.deleteMessage(m.messageId, receipt);
    };
    // A message already past the limit (its handler crashed the process, say) is not run again.
    if (m.dequeueCount > q.maxDequeueCount) return toPoison(`Message has reached MaxDequeueCount of ${q.maxDequeueCount}.`);
    const text = decodeQueueMessage(m.messageText, q.messageEncoding);
    if (text === null) return toPoison("Message is not valid base64 (host.json messageEncoding is base64).");

    let renewing: Promise<unknown> = Promise.resolve();
    const renew = setInterval(() => {
      renewing = queue.updateMessage(m.messageId, receipt, undefined, Math.ceil(leaseMs / 1000))
        .then((r) => { if (r.popReceipt) receipt = r.popReceipt; })
        .catch((err: unknown) => log({ level: "warn", msg: "could not extend a message's visibility", function: def.name, ...describeError(err) }));
    }, leaseMs / 2);
    const invocationId = randomUUID();
    const context = createContext(def.name, log, {
      invocationId,
      options: { trigger: { type: "queueTrigger", name: "message" } },
      triggerMetadata: {
        id: m.messageId, queueTrigger: text, dequeueCount: m.dequeueCount, popReceipt: m.popReceipt,
        insertionTime: m.insertedOn.toISOString(), expirationTime: m.expiresOn.toISOString(), nextVisibleTime: m.nextVisibleOn.toISOString(),
      },
    });
    const result = await runInvocation(def.name, `New queue message detected on '${def.queueName}'.`, log, invocationId, () =>
      def.handler(parseMessageText(text), context));
    clearInterval(renew);
    await renewing;
    if (result.ok) return void (await queue.deleteMessage(m.messageId, receipt));
    if (m.dequeueCount >= q.maxDequeueCount) return toPoison(`Message has reached MaxDequeueCount of ${q.maxDequeueCount}.`);
    await queue.updateMessage(m.messageId, receipt, undefined, Math.ceil(q.visibilityTimeoutMs / 1000));
  };

  const poll = async (def: QueueFunctionDefinition, queue: QueueClient, poison: QueueClient): Promise<void> => {
    const running = new Set<Promise<unknown>>();
    let delay = 0;
    const wait = async (ms: number): Promise<void> => {
      await sleep(ms, undefined, { signal: abort.signal }).catch(() => undefined);
    };
    while (!abort.signal.aborted) {
      if (running.size > q.newBatchThreshold) {
        await Promise.race([...running, wait(q.maxPollingIntervalMs)]);
        continue;
      }
      let items: DequeuedMessageItem[];
      try {
        const r = await queue.receiveMessages({ numberOfMessages: q.batchSize, visibilityTimeout: Math.ceil(leaseMs / 1000), abortSignal: abort.signal });
        items = r.receivedMessageItems;
      } catch (err) {
        if (abort.signal.aborted) break;
        log({ level: "error", msg: `could not read queue '${def.queueName}'`, function: def.name, ...describeError(err) });
        items = [];
      }
      if (items.length === 0) {
        delay = Math.min(q.maxPollingIntervalMs, delay === 0 ? MIN_POLL_MS : delay * 2);
        await wait(delay);
        continue;
      }
      delay = 0;
      for (const m of items) {
        const p = handle(def, queue, poison, m).catch((err: unknown) =>
          log({ level: "error", msg: "queue message bookkeeping failed; the message will reappear", function: def.name, messageId: m.messageId, ...describeError(err) }));
        running.add(p);
        void p.finally(() => running.delete(p));
        track(p);
      }
    }
  };

  const loops = listeners.map(({ def, queue, poison }) => poll(def, queue, poison));
  const byName = new Map(options.definitions.map((d) => [d.name, d]));

  return {
    invoke(functionName, input) {
      const def = byName.get(functionName);
      if (!def || abort.signal.aborted) return false;
      const message = typeof input === "string" ? parseMessageText(input) : input;
      const invocationId = randomUUID();
      const context = createContext(def.name, log, {
        invocationId,
        options: { trigger: { type: "queueTrigger", name: "message" } },
        triggerMetadata: { queueTrigger: typeof input === "string" ? input : JSON.stringify(input), dequeueCount: 1 },
      });
      track(runInvocation(def.name, "This function was programmatically called via the host APIs.", log, invocationId, () => def.handler(message, context)));
      return true;
    },
    async stop(timeoutMs) {
      abort.abort();
      await Promise.allSettled(loops);
      await drain(inFlight, timeoutMs, log, "queue");
    },
  };
}
