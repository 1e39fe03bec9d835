import { test } from "node:test";
import assert from "node:assert/strict";
import { AppError } from "../../shared/errors.js";
import { applyFailure, applySuccess, MAX_TRANSIENT_FAILURES, POSTPONE_MS } from "../../shared/sync/errorPolicy.js";
import { EMPTY_STATS, NEW_DIRECTION, ineligibility, type Mailbox } from "../../shared/domain/mailbox.js";
import { upgradeMailbox } from "../../shared/domain/mailboxUpgrade.js";
import { DEFAULT_ORG_SETTINGS } from "../../shared/domain/orgSettings.js";
import { ManualClock } from "../../shared/runtime/clock.js";

const enabled = { ...NEW_DIRECTION, status: "success" as const, enabled: true };
const base: Mailbox = {
  id: "m1", createdAt: "", updatedAt: "", owner: { type: "queue", id: "q" }, emailAddress: "q@contoso.test", profileId: "p",
  incomingMethod: "serverSideSync", outgoingMethod: "serverSideSync", credentials: null, active: true, isForwardMailbox: false,
  deleteEmailsAfterProcessing: false, processEmailReceivedAfter: null, incomingFilter: "all", approval: "approved",
  incoming: enabled, outgoing: enabled, stats: { ...EMPTY_STATS },
};

test("transient errors postpone 5 minutes, up to 10 in a row, then disable", () => {
  const clock = new ManualClock();
  let m = base;
  const down = new AppError("NETWORK_UNREACHABLE", "connect ECONNREFUSED");
  for (let i = 1; i < MAX_TRANSIENT_FAILURES; i++) {
    const r = applyFailure(m, "incoming", down, clock.now());
    assert.equal(r.outcome, "postponed");
    assert.equal(r.mailbox.incoming.transientFailureCount, i);
    assert.equal(r.mailbox.incoming.postponedUntil, new Date(clock.now().getTime() + POSTPONE_MS).toISOString());
    assert.equal(r.mailbox.incoming.status, "success", "a transient failure keeps the status");
    assert.equal(r.mailbox.incoming.enabled, true);
    assert.deepEqual(r.mailbox.outgoing, enabled, "the other direction is untouched");
    m = r.mailbox;
    clock.advance(POSTPONE_MS);
  }
  const tenth = applyFailure(m, "incoming", down, clock.now());
  assert.equal(tenth.outcome, "disabled");
  assert.equal(tenth.mailbox.incoming.transientFailureCount, 10);
  assert.equal(tenth.mailbox.incoming.status, "failure");
  assert.equal(tenth.mailbox.incoming.enabled, false);
  assert.equal(tenth.mailbox.outgoing.enabled, true, "only the failing direction is disabled");
  assert.equal(tenth.mailbox.incoming.lastError?.transient, true);
});

test("permanent errors disable at once; a success resets the count of its own direction only", () => {
  const clock = new ManualClock();
  const r = applyFailure({ ...base, outgoing: { ...enabled, transientFailureCount: 3 } }, "outgoing", new AppError("AUTH_FAILED", "535 auth failed"), clock.now());
  assert.equal(r.outcome, "disabled");
  assert.equal(r.mailbox.outgoing.status, "failure");
  assert.equal(r.mailbox.outgoing.enabled, false);
  const failing = { ...enabled, transientFailureCount: 4, postponedUntil: "2026-11-22T10:05:00.000Z", lastError: { code: "X", message: "", transient: true, at: "" } };
  const ok = applySuccess({ ...base, incoming: failing, outgoing: failing }, "incoming", clock.now());
  assert.equal(ok.incoming.transientFailureCount, 0);
  assert.equal(ok.incoming.postponedUntil, null);
  assert.equal(ok.incoming.lastError, null);
  assert.equal(ok.incoming.lastSuccessfulSyncAt, clock.now().toISOString());
  assert.deepEqual(ok.outgoing, failing, "a successful poll does not reset the outgoing failures");
});

test("a postponed direction does not hold back the other one", () => {
  const clock = new ManualClock();
  const settings = { ...DEFAULT_ORG_SETTINGS, processEmailOnlyForApprovedQueues: false };
  const { mailbox } = applyFailure(base, "incoming", new AppError("NETWORK_UNREACHABLE", "down"), clock.now());
  assert.equal(ineligibility(mailbox, "incoming", settings, clock.now()), "postponed");
  assert.equal(ineligibility(mailbox, "outgoing", settings, clock.now()), null, "sends go on while POP3 is down");
  const { mailbox: m2 } = applyFailure(base, "outgoing", new AppError("NETWORK_UNREACHABLE", "down"), clock.now());
  assert.equal(ineligibility(m2, "outgoing", settings, clock.now()), "postponed");
  assert.equal(ineligibility(m2, "incoming", settings, clock.now()), null, "polls go on while SMTP is down");
});

test("a mailbox stored with the old shared state is read in the per-direction shape", () => {
  const legacy = {
    ...base, incoming: undefined, outgoing: undefined,
    incomingStatus: "success", outgoingStatus: "failure", enabledForIncoming: true, enabledForOutgoing: false,
    lastSyncAt: "2026-11-22T09:00:00.000Z", lastSuccessfulSyncAt: "2026-11-22T08:00:00.000Z",
    lastError: { code: "NETWORK_UNREACHABLE", message: "down", transient: true, at: "2026-11-22T09:00:00.000Z" },
    transientFailureCount: 2, postponedUntil: "2026-11-22T09:05:00.000Z",
  };
  const m = upgradeMailbox(JSON.parse(JSON.stringify(legacy)));
  assert.equal(m.incoming.status, "success");
  assert.equal(m.incoming.enabled, true);
  assert.equal(m.outgoing.status, "failure");
  assert.equal(m.outgoing.enabled, false);
  for (const d of [m.incoming, m.outgoing]) {
    assert.equal(d.transientFailureCount, 2, "the shared count was both directions'");
    assert.equal(d.postponedUntil, "2026-11-22T09:05:00.000Z");
    assert.equal(d.lastError?.code, "NETWORK_UNREACHABLE");
    assert.equal(d.lastSyncAt, "2026-11-22T09:00:00.000Z");
  }
  for (const old of ["incomingStatus", "enabledForOutgoing", "lastError", "transientFailureCount", "postponedUntil", "lastSyncAt"]) {
    assert.equal(old in m, false, `${old} is gone from the stored shape`);
  }
  assert.equal(upgradeMailbox(base), base, "a current document is returned as it is");
});
