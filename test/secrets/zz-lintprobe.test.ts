/* eslint @typescript-eslint/no-floating-promises: ["error", { allowForKnownSafeCalls: [{ from: "package", package: "node:test", name: ["describe", "it", "test"] }] }] -- node:test tracks these promises itself; remove once eslint.config.js says so. */
import { it } from "node:test";
const p = (): Promise<void> => Promise.resolve();
it("x", () => { p(); });
