/**
 * The authorization matrix (issue 10): every HTTP route of the one definition list, called as each
 * kind of caller, answers as API.md "Roles" says. The expectations below are written by hand, not
 * derived from the routes' own `role`, so a route that loses its check fails here; a route added
 * to functions/definitions.ts without a row here fails too.
 *
 * "allowed" means the role check let the request through: 2xx, or a 4xx other than 401/403 (the
 * ids are made up, so 404; the bodies are empty, so 400). Never 5xx.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { ADMIN_KEY, MASTER_KEY, startTestApp, type TestApp } from "../support/app.js";
import { definitions } from "../../functions/definitions.js";
import { routeRegistry } from "../../shared/http/route.js";
import type { HttpFunctionDefinition } from "../../shared/runtime/functionDefinitions.js";

type Access = "public" | "admin" | "approver";

/** Who may call each route, by function name. A new route needs a row. */
const EXPECTED: Record<string, Access> = {
  health: "public",
  settingsGet: "admin", settingsPut: "admin", settingsPatch: "admin",
  profilesCreate: "admin", profilesList: "admin", profilesGet: "admin", profilesPatch: "admin", profilesDelete: "admin",
  profilesTestAndEnable: "admin",
  mailboxesCreate: "admin", mailboxesList: "admin", mailboxesGet: "admin", mailboxesPatch: "admin", mailboxesDelete: "admin",
  mailboxesTestAndEnable: "admin", mailboxesApplyDefaultSettings: "admin",
  // Admin at the route; approve and reject in the body need the approver too (test/jobs/bulkRequests.test.ts).
  mailboxesBulk: "admin",
  mailboxesApprove: "approver", mailboxesReject: "approver",
  contactsCreate: "admin", contactsList: "admin", contactsDelete: "admin",
  alertsList: "admin", jobsGet: "admin",
  emailsList: "admin", emailsGet: "admin", emailsRaw: "admin", emailsCreate: "admin", emailsCancel: "admin",
  openapi: "admin",
  // The console's static assets need no key; its data routes are admin (test/console/).
  console: "public", operationsGet: "admin", me: "admin",
};

const principal = (...roles: string[]): string =>
  Buffer.from(JSON.stringify({ auth_typ: "aad", claims: roles.map((val) => ({ typ: "roles", val })) })).toString("base64");

interface CallerKind {
  name: string;
  key: string | null;
  headers: Record<string, string>;
  /** WEBSITE_AUTH_ENABLED for the call: only then is x-ms-client-principal Easy Auth's. */
  easyAuth: boolean;
}

const CALLERS: CallerKind[] = [
  { name: "no key", key: null, headers: {}, easyAuth: false },
  { name: "wrong key", key: "wrong-key-0000", headers: {}, easyAuth: false },
  { name: "admin key", key: ADMIN_KEY, headers: {}, easyAuth: false },
  { name: "master key", key: MASTER_KEY, headers: {}, easyAuth: false },
  { name: "Easy Auth Email.Admin", key: null, headers: { "x-ms-client-principal": principal("Email.Admin") }, easyAuth: true },
  { name: "Easy Auth Email.Approver", key: null, headers: { "x-ms-client-principal": principal("Email.Approver") }, easyAuth: true },
  { name: "Easy Auth no role", key: null, headers: { "x-ms-client-principal": principal() }, easyAuth: true },
  { name: "forged principal, no Easy Auth", key: null, headers: { "x-ms-client-principal": principal("Email.Admin", "Email.Approver") }, easyAuth: false },
];

type Outcome = 401 | 403 | "allowed";

/** The answer API.md "Roles" gives each caller on a route of each access level. */
function expected(access: Access, caller: string): Outcome {
  const roles: Record<string, string[] | null> = {
    "no key": null, "wrong key": null, "forged principal, no Easy Auth": null,
    "admin key": ["admin"], "master key": ["admin", "approver"],
    "Easy Auth Email.Admin": ["admin"], "Easy Auth Email.Approver": ["approver"], "Easy Auth no role": [],
  };
  if (caller === "wrong key") return 401;
  const held = roles[caller];
  if (access === "public") return "allowed";
  if (held === null || held === undefined) return 401;
  return held.includes(access) ? "allowed" : 403;
}

let app: TestApp;
before(async () => { app = await startTestApp(); });
after(async () => {
  delete process.env.WEBSITE_AUTH_ENABLED;
  await app?.stop();
});

const httpRoutes = (): HttpFunctionDefinition[] => definitions.filter((d): d is HttpFunctionDefinition => d.kind === "http");

/** A concrete path for a route template: made-up ids, so nothing real is touched. */
const pathOf = (route: string): string => `/api/${route.replace(/\{\*?(\w+)\??\}/g, (_m, name: string) => `matrix-${name}-0`)}`;

test("every route in the definition list has a row in the expectation table, and no row is stale", () => {
  const names = httpRoutes().map((d) => d.name);
  const missing = names.filter((n) => !(n in EXPECTED));
  assert.deepEqual(missing, [], `routes without an expected access level (add them to EXPECTED): ${missing.join(", ")}`);
  const stale = Object.keys(EXPECTED).filter((n) => !names.includes(n));
  assert.deepEqual(stale, [], `rows for routes that no longer exist: ${stale.join(", ")}`);
  // The routes' declared role agrees with the table (the table, not the declaration, is what is tested below).
  for (const spec of routeRegistry) {
    if (spec.name in EXPECTED) assert.equal(spec.role, EXPECTED[spec.name], `${spec.name} declares role ${spec.role}`);
  }
});

test("every route x every kind of caller answers as API.md Roles says", async () => {
  const failures: string[] = [];
  let calls = 0;
  for (const def of httpRoutes()) {
    const access = EXPECTED[def.name];
    if (access === undefined) continue; // reported by the test above
    for (const method of def.methods) {
      for (const caller of CALLERS) {
        if (caller.easyAuth) process.env.WEBSITE_AUTH_ENABLED = "true";
        else delete process.env.WEBSITE_AUTH_ENABLED;
        const body = method === "GET" || method === "DELETE" ? undefined : {};
        const res = await app.call(method, pathOf(def.route), { key: caller.key, headers: caller.headers, ...(body ? { body } : {}) });
        calls++;
        const want = expected(access, caller.name);
        const got = res.status;
        const ok = want === "allowed" ? got < 500 && got !== 401 && got !== 403 : got === want;
        if (!ok) failures.push(`${method} ${def.route} as ${caller.name}: expected ${want}, got ${got} ${res.text.slice(0, 160)}`);
        if (want !== "allowed" && ok) {
          const code = (res.body as { error?: { code?: string } } | undefined)?.error?.code;
          if (code !== (want === 401 ? "UNAUTHORIZED" : "FORBIDDEN")) failures.push(`${method} ${def.route} as ${caller.name}: code ${code}`);
        }
      }
    }
  }
  delete process.env.WEBSITE_AUTH_ENABLED;
  assert.deepEqual(failures, [], `${failures.length} of ${calls} calls answered wrongly:\n${failures.join("\n")}`);
  assert.ok(calls >= httpRoutes().length * CALLERS.length);
});

test("the admin API of the host (POST /admin/functions/{name}) takes the master key only", async () => {
  const run = async (caller: CallerKind): Promise<number> => {
    if (caller.easyAuth) process.env.WEBSITE_AUTH_ENABLED = "true";
    else delete process.env.WEBSITE_AUTH_ENABLED;
    const headers: Record<string, string> = { "content-type": "application/json", ...caller.headers };
    if (caller.key !== null) headers["x-functions-key"] = caller.key;
    const res = await fetch(`${app.url}/admin/functions/mailboxScheduler`, { method: "POST", headers, body: JSON.stringify({ input: "" }) });
    await res.arrayBuffer();
    return res.status;
  };
  const got = Object.fromEntries(await CALLERS.reduce<Promise<Array<[string, number]>>>(
    async (acc, c) => [...await acc, [c.name, await run(c)]], Promise.resolve([])));
  delete process.env.WEBSITE_AUTH_ENABLED;
  assert.deepEqual(got, Object.fromEntries(CALLERS.map((c) => [c.name, c.name === "master key" ? 202 : 401])));
});
