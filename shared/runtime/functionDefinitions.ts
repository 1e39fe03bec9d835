/**
 * @module The shape of one function definition. functions/definitions.ts holds the one list;
 * functions/index.ts registers it with `app.*` for the Functions host, and devhost/ serves the
 * very same list, so the two hosts can never disagree about names, routes, schedules or queues.
 */
import type { HttpRequest, HttpResponseInit, InvocationContext, Timer } from "@azure/functions";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface HttpFunctionDefinition {
  kind: "http";
  name: string;
  /** Route template below the `api` prefix, e.g. `profiles/{id}`. */
  route: string;
  methods: HttpMethod[];
  handler: (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;
}

export interface TimerFunctionDefinition {
  kind: "timer";
  name: string;
  /** NCRONTAB, or `%SETTING_NAME%` resolved from app settings as the Functions host does. */
  schedule: string;
  handler: (timer: Timer, context: InvocationContext) => Promise<void>;
}

export interface QueueFunctionDefinition {
  kind: "queue";
  name: string;
  queueName: string;
  /** App setting prefix of the storage connection (`AzureWebJobsStorage`). */
  connection: string;
  /** Receives the decoded message: parsed JSON when it is JSON, the string otherwise. */
  handler: (message: unknown, context: InvocationContext) => Promise<void>;
}

export type FunctionDefinition = HttpFunctionDefinition | TimerFunctionDefinition | QueueFunctionDefinition;
