/**
 * @module The one list of function definitions. functions/index.ts registers it with the Functions
 * host; devhost/ serves the same list when Core Tools is not installed.
 */
import type { FunctionDefinition } from "../shared/runtime/functionDefinitions.js";
import { healthRoute } from "./health.js";
import { settingsRoutes } from "./settings.js";
import { profileRoutes } from "./profiles.js";
import { mailboxRoutes } from "./mailboxes.js";
import { mailboxBulkRoutes } from "./mailboxesBulk.js";
import { contactRoutes } from "./contacts.js";
import { alertRoutes } from "./alerts.js";
import { jobRoutes } from "./jobs.js";
import { openApiRoute } from "./openapi.js";
import { emailReadRoutes } from "./emails.js";
import { mailboxSchedulerFunction } from "./mailboxScheduler.js";
import { mailboxIncomingFunction } from "./mailboxIncoming.js";
import { testAndEnableRoutes } from "./testAndEnable.js";
import { mailboxTestFunction } from "./mailboxTest.js";
import { emailSendRoutes } from "./emailsSend.js";
import { mailboxOutgoingFunction } from "./mailboxOutgoing.js";
import { consoleRoute } from "./console.js";
import { operationsRoutes } from "./operations.js";
import { recordingLastRun } from "../shared/admin/operations.js";

export const definitions: FunctionDefinition[] = [
  healthRoute,
  ...settingsRoutes,
  ...profileRoutes,
  ...mailboxRoutes,
  ...mailboxBulkRoutes,
  ...contactRoutes,
  ...alertRoutes,
  ...jobRoutes,
  ...emailReadRoutes,
  ...emailSendRoutes,
  ...testAndEnableRoutes,
  openApiRoute,
  consoleRoute,
  ...operationsRoutes,
  // Records each run for GET /api/operations (shared/admin/operations.ts).
  recordingLastRun(mailboxSchedulerFunction),
  mailboxIncomingFunction,
  mailboxOutgoingFunction,
  mailboxTestFunction,
];
