import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ERROR_CODES } from "../../shared/errors.js";

test("docs/errors.md lists every error code with its class", () => {
  const doc = readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8");
  const rows = new Map([...doc.matchAll(/^\| `(\w+)` \| (transient|permanent) \|/gm)].map((m) => [m[1], m[2]]));
  for (const [code, info] of Object.entries(ERROR_CODES)) {
    assert.equal(rows.get(code), info.transient ? "transient" : "permanent", `docs/errors.md row for ${code}`);
  }
  assert.equal(rows.size, Object.keys(ERROR_CODES).length, "no row for a code that does not exist");
});
