#!/usr/bin/env node
// `node scripts/package-load.mjs [folder]` (default: the current folder) loads a function app
// folder, such as the staged package dist/.package, the way the Azure Functions Node.js worker
// does, and prints what it registered as one JSON line on stdout. test/package/package.test.ts
// runs it with plain `node` (no tsx) against a freshly staged package.
//
// What the worker does (Azure/azure-functions-nodejs-worker, src/setupCoreModule.ts, startApp.ts,
// loadScriptFile.ts): it answers `require('@azure/functions-core')` with its own core API object by
// proxying Module.prototype.require; it reads package.json `main` from the app folder, and loads
// that file with `import()` when package.json says `"type": "module"` (require() otherwise). The
// app's own @azure/functions (from the app's node_modules) then calls
// coreApi.setProgrammingModel() and coreApi.registerFunction(metadata, callback) for every
// app.http/app.timer/app.storageQueue. This harness provides the same core API, recording instead
// of talking gRPC to the host, so the metadata below is exactly what the host would receive.
import Module from "node:module";
import path from "node:path";
import fs from "node:fs";
import url from "node:url";

const registered = [];
let programmingModel = null;
const coreApi = {
  version: "harness",
  hostVersion: "4.0.0",
  registerHook: () => ({ dispose() {} }),
  setProgrammingModel: (model) => { programmingModel = model; },
  getProgrammingModel: () => programmingModel,
  registerFunction: (metadata, callback) => {
    registered.push({ metadata, hasCallback: typeof callback === "function" });
    return { dispose() {} };
  },
  Disposable: class { dispose() {} },
};
Module.prototype.require = new Proxy(Module.prototype.require, {
  apply(target, thisArg, args) {
    return args[0] === "@azure/functions-core" ? coreApi : Reflect.apply(target, thisArg, args);
  },
});

async function main() {
  const appDir = path.resolve(process.argv[2] ?? ".");
  const pkg = JSON.parse(fs.readFileSync(path.join(appDir, "package.json"), "utf8"));
  if (!pkg.main) throw new Error("package.json has no main");
  const entry = path.join(appDir, pkg.main);
  if (!fs.existsSync(entry)) throw new Error(`entry point ${pkg.main} is missing`);
  const esm = entry.endsWith(".mjs") || (!entry.endsWith(".cjs") && pkg.type === "module");
  if (esm) await import(url.pathToFileURL(entry).href);
  else Module.createRequire(entry)(entry);
  const functions = registered.map(({ metadata, hasCallback }) => ({
    name: metadata.name,
    hasCallback,
    bindings: Object.fromEntries(Object.entries(metadata.bindings).map(([k, b]) => [k, {
      type: b.type, direction: b.direction, route: b.route, methods: b.methods, authLevel: b.authLevel,
      queueName: b.queueName, connection: b.connection, schedule: b.schedule,
    }])),
  }));
  process.stdout.write(JSON.stringify({
    programmingModel: programmingModel ? { name: programmingModel.name, version: programmingModel.version } : null,
    functions,
  }) + "\n");
  // The app may hold timers (an OpenTelemetry exporter's interval): the worker keeps running, we stop.
  process.exit(0);
}

await main().catch((err) => {
  process.stderr.write(`package-load: ${err && err.stack ? err.stack : String(err)}\n`);
  process.exit(1);
});
