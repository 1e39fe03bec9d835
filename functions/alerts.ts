/**
 * @module Routes: alerts, newest first, filtered by mailbox, profile and level.
 */
import { defineRoute } from "../shared/http/route.js";
import { json } from "../shared/http/responses.js";
import { alertListQuery, alertView } from "../shared/domain/alert.js";
import { listOf, listQuery } from "../shared/domain/common.js";
import { equalsFilter } from "../shared/storage/documentTable.js";

export const alertRoutes = [
  defineRoute({
    name: "alertsList", method: "GET", route: "alerts", role: "admin",
    summary: "List alerts, newest first", query: listQuery.extend(alertListQuery.shape).strict(),
    success: { status: 200, schema: listOf(alertView) },
    handle: async ({ services, query }) => {
      const { top, continuationToken, ...filters } = query;
      const filter = equalsFilter(filters);
      const page = await services.alerts.list({ top, continuationToken, ...(filter ? { filter } : {}) });
      return json(200, page);
    },
  }),
];
