/**
 * @module `npm start` (node dist/devhost/start.js [--devhost]): runs the app locally with
 * `func start` when Azure Functions Core Tools is installed, otherwise with the dev host, and
 * stops everything on Ctrl+C / SIGTERM. `--devhost` picks the dev host even when func is there.
 */
import { runStart, StartupError } from "./startup.js";

async function main(): Promise<void> {
  // With the mail sandbox on, the dev host must trust its CA from start-up (NODE_EXTRA_CA_CERTS):
  // if this process does not, it runs again with it and only waits here (sandbox/trust.ts).
  const { sandboxRelaunchEnv } = await import("./sandbox/prelaunch.js");
  const relaunchEnv = await sandboxRelaunchEnv(process.cwd(), process.argv.slice(2), process.env);
  if (relaunchEnv) process.exit(await (await import("./sandbox/trust.js")).relaunch(relaunchEnv));
  let started;
  try {
    started = await runStart({
      root: process.cwd(),
      argv: process.argv.slice(2),
      sandboxByDefault: true,
      // Loaded only on the dev host path: under func, the worker loads functions/index.js itself.
      loadDefinitions: async () => (await import("../functions/definitions.js")).definitions,
    });
  } catch (err) {
    console.error(err instanceof StartupError ? err.message : err);
    process.exit(1);
  }
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) {
      console.error(`${signal} again: exiting now.`);
      process.exit(1);
    }
    stopping = true;
    console.log(`${signal}: stopping...`);
    started.stop().then(() => process.exit(0), (err: unknown) => {
      console.error("Error while stopping:", err);
      process.exit(1);
    });
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
  process.exit(await started.exited);
}

await main();
