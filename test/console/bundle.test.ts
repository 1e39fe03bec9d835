/**
 * The built console (dist/console/, written by npm run build; CI builds before it tests) fits the
 * CSP it is served with: no inline script or style, no other origin, and it is small.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { DEFAULT_CONSOLE_DIR, loadConsoleAssets } from "../../shared/console/assets.js";

test("the built console has no inline script or style, loads nothing from another origin and stays small", async (t) => {
  if (!existsSync(DEFAULT_CONSOLE_DIR)) {
    t.skip("dist/console/ is not built: run npm run build");
    return;
  }
  const assets = await loadConsoleAssets();
  const index = assets.get("index.html")?.body.toString("utf8");
  assert.ok(index, "index.html");
  const scripts = [...index.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
  assert.ok(scripts.length > 0);
  for (const [, attrs, body] of scripts) {
    assert.match(attrs ?? "", /\bsrc="\.\/assets\/[\w.-]+\.js"/, "every script is a file of the bundle");
    assert.equal(body?.trim(), "", "no inline script");
  }
  assert.doesNotMatch(index, /\sstyle=|<style|\son\w+=|https?:\/\//i, "no inline style, no handler attribute, no absolute URL");
  const js = [...assets].filter(([name]) => name.endsWith(".js"));
  const css = [...assets].filter(([name]) => name.endsWith(".css"));
  assert.equal(js.length, 1);
  assert.equal(css.length, 1);
  for (const [name, asset] of [...js, ...css]) {
    assert.doesNotMatch(asset.body.toString("utf8"), /https?:\/\/(?!www\.w3\.org)[a-z]/i, `${name} names no other origin`);
  }
  const gzipped = js.reduce((n, [, a]) => n + (a.gzip ?? a.body).length, 0);
  assert.ok(gzipped < 40 * 1024, `the script is ${gzipped} bytes gzipped`);
});
