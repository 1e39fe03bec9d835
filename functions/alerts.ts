/**
 * @module Routes: alerts, newest first, filtered by mailbox, profile, owner and a level floor.
 */
import { defineRoute } from "../shared/http/route.js";
import { json } from "../shared/http/responses.js";
import { alertListQuery, alertView, type AlertLevel } from "../shared/domain/alert.js";
import { listOf, listQuery } from "../shared/domain/common.js";
import { equalsFilter } from "../shared/storage/documentTable.js";

const SEVERITY: AlertLevel[] = ["information", "warning", "error"];

/** `level` is a floor (API.md "Alerts"): warning finds warnings and errors. */
function levelFloor(level: AlertLevel): string {
  return `(${SEVERITY.slice(SEVERITY.indexOf(level)).map((l) => `level eq '${l}'`).join(" or ")})`;
}

export const alertRoutes = [
  defineRoute({
    name: "alertsList", method: "GET", route: "alerts", role: "admin",
    summary: "List alerts, newest first", query: listQuery.extend(alertListQuery.shape).strict(),
    success: { status: 200, schema: listOf(alertView) },
    handle: async ({ services, query }) => {
      const { top, continuationToken, level, ...filters } = query;
      const filter = [equalsFilter(filters), level ? levelFloor(level) : undefined].filter(Boolean).join(" and ") || undefined;
      const page = await services.alerts.list({ top, continuationToken, ...(filter ? { filter } : {}) });
      return json(200, page);
    },
  }),
];
