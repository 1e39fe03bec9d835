/**
 * @module Route: GET /api/console/{*path}, the admin console's static assets (shared/console/).
 */
import { documentRoute } from "../shared/http/route.js";
import { createConsoleRoute } from "../shared/console/route.js";

documentRoute({
  // OpenAPI has no catch-all parameter: documented as {path}, which here may hold slashes (assets/x.js).
  name: "console", method: "GET", route: "console/{path}", role: "public",
  summary: "The admin console (HTML, script and style; no key needed to load it, every API call it makes sends the admin's key or rides on Easy Auth). /api/console redirects (302) to /api/console/; If-None-Match with the asset's ETag is 304",
  success: { status: 200, description: "index.html for the empty path, else the named asset (text/html, text/javascript, text/css)" },
  errors: [
    { status: 401, description: "A key was sent and it is not valid" },
  ],
});

export const consoleRoute = createConsoleRoute();
