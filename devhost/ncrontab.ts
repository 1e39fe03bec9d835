/**
 * @module Six-field NCRONTAB (`second minute hour day month day-of-week`), the format of Azure
 * Functions timer triggers, with the next occurrence computed in UTC.
 * Follows NCrontab (the library the host uses) where cron dialects differ: day-of-month and
 * day-of-week must BOTH match (NCrontab intersects them; Vixie cron would take the union),
 * day-of-week is 0-6 with 0 = Sunday, and `L`, `W`, `#`, `?` are not supported.
 */

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  /** Names accepted in place of numbers; index 0 is `min`. */
  names?: string[];
}

const MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"];
const DAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];

const FIELDS: FieldSpec[] = [
  { name: "second", min: 0, max: 59 },
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: MONTHS },
  { name: "day-of-week", min: 0, max: 6, names: DAYS },
];

/** A Feb 29 that must also be a given weekday can be 40 years away (2096 → 2136 skips 2100). */
const SEARCH_YEARS = 50;

export interface NcrontabSchedule {
  readonly expression: string;
  /** The first occurrence strictly after `after` (whole seconds, UTC). */
  next(after: Date): Date;
}

function parseValue(text: string, spec: FieldSpec, expr: string): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n < spec.min || n > spec.max) throw new Error(`NCRONTAB "${expr}": ${spec.name} ${n} is outside ${spec.min}-${spec.max}`);
    return n;
  }
  const lower = text.toLowerCase();
  const index = spec.names?.findIndex((full) => lower.length >= 3 && full.startsWith(lower)) ?? -1;
  if (index < 0) throw new Error(`NCRONTAB "${expr}": "${text}" is not a valid ${spec.name}`);
  return spec.min + index;
}

function parseField(text: string, spec: FieldSpec, expr: string): boolean[] {
  const allowed = new Array<boolean>(spec.max + 1).fill(false);
  for (const part of text.split(",")) {
    const m = /^([^/]+)(?:\/(\d+))?$/.exec(part);
    if (!m || m[1] === undefined) throw new Error(`NCRONTAB "${expr}": cannot read ${spec.name} field "${text}"`);
    const step = m[2] === undefined ? 1 : Number(m[2]);
    if (step < 1) throw new Error(`NCRONTAB "${expr}": step in ${spec.name} field must be at least 1`);
    let from: number, to: number;
    if (m[1] === "*") {
      [from, to] = [spec.min, spec.max];
    } else if (m[1].includes("-")) {
      const [a, b, extra] = m[1].split("-");
      if (a === undefined || b === undefined || extra !== undefined) throw new Error(`NCRONTAB "${expr}": bad range "${m[1]}" in ${spec.name}`);
      [from, to] = [parseValue(a, spec, expr), parseValue(b, spec, expr)];
      if (from > to) throw new Error(`NCRONTAB "${expr}": range "${m[1]}" in ${spec.name} runs backwards`);
    } else {
      from = parseValue(m[1], spec, expr);
      // `5/15` means from 5 to the end of the range in steps of 15, as `5-59/15` would.
      to = m[2] === undefined ? from : spec.max;
    }
    for (let v = from; v <= to; v += step) allowed[v] = true;
  }
  return allowed;
}

/** Parses an expression; throws an Error naming the bad field, or when the schedule can never fire. */
export function parseNcrontab(expression: string): NcrontabSchedule {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 6) {
    throw new Error(`NCRONTAB "${expression}" must have six fields: second minute hour day month day-of-week`);
  }
  const [sec, min, hour, day, month, dow] = parts.map((p, i) => parseField(p, FIELDS[i] as FieldSpec, expression)) as [
    boolean[], boolean[], boolean[], boolean[], boolean[], boolean[],
  ];

  const search = (after: Date): Date | null => {
    let t = Math.floor(after.getTime() / 1000) * 1000 + 1000;
    const lastYear = new Date(t).getUTCFullYear() + SEARCH_YEARS;
    for (;;) {
      const d = new Date(t);
      const [y, mo, dd, h, mi, s] = [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()];
      if (y > lastYear) return null;
      // Each miss jumps to the start of the next unit; Date.UTC carries overflow into the next one.
      if (!month[mo + 1]) t = Date.UTC(y, mo + 1, 1);
      else if (!day[dd] || !dow[d.getUTCDay()]) t = Date.UTC(y, mo, dd + 1);
      else if (!hour[h]) t = Date.UTC(y, mo, dd, h + 1);
      else if (!min[mi]) t = Date.UTC(y, mo, dd, h, mi + 1);
      else if (!sec[s]) t = Date.UTC(y, mo, dd, h, mi, s + 1);
      else return d;
    }
  };

  if (search(new Date(Date.UTC(2000, 0, 1))) === null) {
    throw new Error(`NCRONTAB "${expression}" never fires (no date matches its day, month and day-of-week)`);
  }
  return {
    expression,
    next(after: Date): Date {
      const found = search(after);
      if (found === null) throw new Error(`NCRONTAB "${expression}" has no occurrence within ${SEARCH_YEARS} years of ${after.toISOString()}`);
      return found;
    },
  };
}
