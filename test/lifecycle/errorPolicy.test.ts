import { test } from "node:test";
import assert from "node:assert/strict";
import { AppError } from "../../shared/errors.js";
import { applyFailure, applySuccess, MAX_TRANSIENT_FAILURES, POSTPONE_MS } from "../../shared/sync/errorPolicy.js";
import { EMPTY_STATS, type Mailbox } from "../../shared/domain/mailbox.js";
import { ManualClock } from "../../shared/runtime/clock.js";

const base: Mailbox = {
  id: "m1", createdAt: "", updatedAt: "", owner: { type: "queue", id: "q" }, emailAddress: "q@contoso.test", profileId: "p",
  incomingMethod: "serverSideSync", outgoingMethod: "serverSideSync", credentials: null, active: true, isForwardMailbox: false,
  deleteEmailsAfterProcessing: false, processEmailReceivedAfter: null, incomingFilter: "all", approval: "approved",
  incomingStatus: "success", outgoingStatus: "success", enabledForIncoming: true, enabledForOutgoing: true,
  lastSyncAt: null, lastSuccessfulSyncAt: null, lastError: null, transientFailureCount: 0, postponedUntil: null, stats: { ...EMPTY_STATS },
};

test("transient errors postpone 5 minutes, up to 10 in a row, then disable", () => {
  const clock = new ManualClock();
  let m = base;
  const down = new AppError("NETWORK_UNREACHABLE", "connect ECONNREFUSED");
  for (let i = 1; i < MAX_TRANSIENT_FAILURES; i++) {
    const r = applyFailure(m, "incoming", down, clock.now());
    assert.equal(r.outcome, "postponed");
    assert.equal(r.mailbox.transientFailureCount, i);
    assert.equal(r.mailbox.postponedUntil, new Date(clock.now().getTime() + POSTPONE_MS).toISOString());
    assert.equal(r.mailbox.incomingStatus, "success", "a transient failure keeps the status");
    assert.equal(r.mailbox.enabledForIncoming, true);
    m = r.mailbox;
    clock.advance(POSTPONE_MS);
  }
  const tenth = applyFailure(m, "incoming", down, clock.now());
  assert.equal(tenth.outcome, "disabled");
  assert.equal(tenth.mailbox.transientFailureCount, 10);
  assert.equal(tenth.mailbox.incomingStatus, "failure");
  assert.equal(tenth.mailbox.enabledForIncoming, false);
  assert.equal(tenth.mailbox.enabledForOutgoing, true, "only the failing direction is disabled");
  assert.equal(tenth.mailbox.lastError?.transient, true);
});

test("permanent errors disable at once; a success resets the count", () => {
  const clock = new ManualClock();
  const r = applyFailure({ ...base, transientFailureCount: 3 }, "outgoing", new AppError("AUTH_FAILED", "535 auth failed"), clock.now());
  assert.equal(r.outcome, "disabled");
  assert.equal(r.mailbox.outgoingStatus, "failure");
  assert.equal(r.mailbox.enabledForOutgoing, false);
  const ok = applySuccess({ ...base, transientFailureCount: 4, postponedUntil: "x", lastError: { code: "X", message: "", transient: true, at: "" } }, "incoming", clock.now());
  assert.equal(ok.transientFailureCount, 0);
  assert.equal(ok.postponedUntil, null);
  assert.equal(ok.lastError, null);
  assert.equal(ok.lastSuccessfulSyncAt, clock.now().toISOString());
});
