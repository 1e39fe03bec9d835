import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseNcrontab } from "../../devhost/ncrontab.js";

const next = (expr: string, after: string): string => parseNcrontab(expr).next(new Date(after)).toISOString();

describe("ncrontab", () => {
  it("every minute at second 0 (the scheduler's default)", () => {
    assert.equal(next("0 */1 * * * *", "2026-11-22T10:00:30.000Z"), "2026-11-22T10:01:00.000Z");
    assert.equal(next("0 */1 * * * *", "2026-11-22T10:00:00.000Z"), "2026-11-22T10:01:00.000Z");
  });

  it("is strictly after the given time and ignores its milliseconds", () => {
    assert.equal(next("* * * * * *", "2026-11-22T10:00:00.500Z"), "2026-11-22T10:00:01.000Z");
    assert.equal(next("*/15 * * * * *", "2026-11-22T10:00:14.999Z"), "2026-11-22T10:00:15.000Z");
    assert.equal(next("*/15 * * * * *", "2026-11-22T10:00:15.000Z"), "2026-11-22T10:00:30.000Z");
  });

  it("lists, ranges with steps and start/step", () => {
    assert.equal(next("5,10-20/5 * * * * *", "2026-11-22T10:00:05Z"), "2026-11-22T10:00:10.000Z");
    assert.equal(next("5,10-20/5 * * * * *", "2026-11-22T10:00:20Z"), "2026-11-22T10:01:05.000Z");
    assert.equal(next("5/20 * * * * *", "2026-11-22T10:00:25Z"), "2026-11-22T10:00:45.000Z");
    assert.equal(next("0 0 */6 * * *", "2026-11-22T13:00:00Z"), "2026-11-22T18:00:00.000Z");
  });

  it("day-of-week names and ranges: weekdays at 09:00", () => {
    // 2026-11-21 is a Saturday, 2026-11-23 a Monday.
    assert.equal(next("0 0 9 * * MON-FRI", "2026-11-21T12:00:00Z"), "2026-11-23T09:00:00.000Z");
    assert.equal(next("0 0 9 * * 1-5", "2026-11-23T08:59:59Z"), "2026-11-23T09:00:00.000Z");
    assert.equal(next("0 0 9 * * sun", "2026-11-21T12:00:00Z"), "2026-11-22T09:00:00.000Z");
  });

  it("month names, full or abbreviated, any case", () => {
    assert.equal(next("0 0 0 1 jan,JUL *", "2026-02-01T00:00:00Z"), "2026-07-01T00:00:00.000Z");
    assert.equal(next("0 0 0 1 January *", "2026-12-31T23:59:59Z"), "2027-01-01T00:00:00.000Z");
  });

  it("skips months too short for the day", () => {
    assert.equal(next("0 0 0 31 * *", "2026-01-31T00:00:00Z"), "2026-03-31T00:00:00.000Z");
    assert.equal(next("0 30 2 29 FEB *", "2026-03-01T00:00:00Z"), "2028-02-29T02:30:00.000Z");
  });

  it("day AND day-of-week must both match, as in NCrontab", () => {
    // Friday the 13th: 2026-11-13 was one; the next is 2027-08-13.
    assert.equal(next("0 0 0 13 * FRI", "2026-11-14T00:00:00Z"), "2027-08-13T00:00:00.000Z");
    // Feb 29 on a Monday is decades away but still found.
    assert.equal(next("0 0 0 29 2 MON", "2028-03-01T00:00:00Z"), "2044-02-29T00:00:00.000Z");
  });

  it("rejects what the host rejects, naming the problem", () => {
    assert.throws(() => parseNcrontab("0 */5 * * *"), /six fields/);
    assert.throws(() => parseNcrontab("60 * * * * *"), /second 60 is outside 0-59/);
    assert.throws(() => parseNcrontab("0 0 0 * * 7"), /day-of-week 7 is outside 0-6/);
    assert.throws(() => parseNcrontab("0 0 0 * * FUN"), /not a valid day-of-week/);
    assert.throws(() => parseNcrontab("0 30-10 * * * *"), /runs backwards/);
    assert.throws(() => parseNcrontab("*/0 * * * * *"), /step/);
    assert.throws(() => parseNcrontab("0 0 0 L * *"), /not a valid day/);
    assert.throws(() => parseNcrontab("0 0 0 30 FEB *"), /never fires/);
  });
});
