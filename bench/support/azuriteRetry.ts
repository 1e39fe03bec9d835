/**
 * startAzurite, tried again when its ports were taken between choosing and binding them (it picks
 * free ports, then Azurite binds them: on a machine where other test runs start servers too, one
 * can take a port in between, and Azurite exits with EADDRINUSE).
 */
import { startAzurite, type AzuriteInstance } from "../../shared/runtime/azurite.js";

export async function startAzuriteRetrying(attempts = 4): Promise<AzuriteInstance> {
  for (let i = 1; ; i++) {
    try {
      return await startAzurite();
    } catch (err) {
      if (i >= attempts || !/EADDRINUSE|exited early/.test(String(err))) throw err;
      console.error(`  Azurite did not start (${String(err).split("\n")[0]}), trying again`);
    }
  }
}
