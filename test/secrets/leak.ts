/**
 * @module Test helper: asserts that a thrown error carries no trace of a secret value, in its
 * message, its cause chain, JSON or util.inspect output (the forms a logger might print).
 */
import assert from "node:assert/strict";
import { inspect } from "node:util";

export function assertNoSecretIn(err: unknown, value: string): void {
  const forms: string[] = [inspect(err, { depth: Infinity, showHidden: true, getters: true }), JSON.stringify(err) ?? ""];
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) {
    forms.push(e.message, e.stack ?? "", JSON.stringify(e, Object.getOwnPropertyNames(e)));
  }
  for (const text of forms) assert.ok(!text.includes(value), `the secret value leaked into: ${text.slice(0, 300)}`);
}

/** Runs `fn`, expects it to reject, and returns the error. */
export async function rejection(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  assert.fail("expected a rejection");
}
