/**
 * CronJob schedules evaluated as the CronJob controller does with robfig/cron v3 `ParseStandard`: five fields
 * (minute hour day-of-month month day-of-week, names, ranges, steps, `*`/`?`), the `@yearly`…`@hourly` descriptors
 * and `@every <duration>`, in an IANA time zone (`spec.timeZone` or a `TZ=`/`CRON_TZ=` prefix; UTC otherwise, as
 * kube-controller-manager runs in UTC). Day matching follows robfig: when both day fields are restricted a day
 * matches either; when one is `*` both must match. Validation (and its error texts) lives in
 * `src/api/validation/cron.ts`; this module only computes times.
 */
import { validateCronSchedule, validateTimeZone } from '../../api/validation/cron.js';

/** A parsed schedule: `next(t)` is the first activation strictly after `t` (ms since epoch), as robfig `Next`. */
export interface Schedule {
  next(afterMs: number): number | undefined;
}

const MONTHS: Record<string, number> = { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 };
const DOWS: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };
const BOUNDS: Array<[number, number, Record<string, number>?]> = [[0, 59], [0, 23], [1, 31], [1, 12, MONTHS], [0, 6, DOWS]];
const DESCRIPTORS: Record<string, string> = {
  '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *', '@monthly': '0 0 1 * *', '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@hourly': '0 * * * *',
};
const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

interface Field { values: Set<number>; star: boolean }

function parseField(text: string, [min, max, names]: [number, number, Record<string, number>?]): Field {
  const values = new Set<number>();
  let star = false;
  const num = (s: string) => (names?.[s.toLowerCase()] ?? Number(s));
  for (const part of text.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    let lo: number;
    let hi: number;
    if (range === '*' || range === '?') {
      [lo, hi] = [min, max];
      if (step === 1) star = true;
    } else {
      const [a, b] = range.split('-');
      lo = num(a);
      hi = b === undefined ? (stepText === undefined ? lo : max) : num(b);
    }
    for (let v = lo; v <= hi; v += step) values.add(v);
  }
  return { values, star };
}

/** Local wall-clock fields of an instant in a time zone (Intl, cached per zone). */
type Fields = { month: number; day: number; hour: number; minute: number; dow: number };
const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

function localFields(ms: number, tz: string): Fields {
  if (tz === 'UTC') {
    const d = new Date(ms);
    return { month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), dow: d.getUTCDay() };
  }
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', weekday: 'short' });
    formatters.set(tz, f);
  }
  const out: Record<string, string> = {};
  for (const p of f.formatToParts(ms)) out[p.type] = p.value;
  return { month: Number(out.month), day: Number(out.day), hour: Number(out.hour) % 24, minute: Number(out.minute), dow: WEEKDAYS[out.weekday] ?? 0 };
}

class CronSchedule implements Schedule {
  constructor(private readonly f: Field[], private readonly tz: string) {}

  private dayMatches(l: Fields): boolean {
    const [, , dom, , dow] = this.f;
    const domOk = dom.values.has(l.day);
    const dowOk = dow.values.has(l.dow) || (l.dow === 0 && dow.values.has(7));
    return dom.star || dow.star ? domOk && dowOk : domOk || dowOk;
  }

  next(afterMs: number): number | undefined {
    const [min, hour, , month] = this.f;
    let t = Math.floor(afterMs / 60_000) * 60_000 + 60_000;
    // Five years of skipping by day/hour/minute is a few thousand steps at most; robfig gives up after five years too.
    const limit = afterMs + 5 * 366 * 86_400_000;
    while (t <= limit) {
      const l = localFields(t, this.tz);
      if (!month.values.has(l.month) || !this.dayMatches(l)) {
        t += (24 * 60 - (l.hour * 60 + l.minute)) * 60_000;
        continue;
      }
      if (!hour.values.has(l.hour)) {
        t += (60 - l.minute) * 60_000;
        continue;
      }
      if (!min.values.has(l.minute)) {
        t += 60_000;
        continue;
      }
      return t;
    }
    return undefined;
  }
}

/** robfig `ConstantDelaySchedule`: every `delay` (at least one second, whole seconds), from the given time. */
class EverySchedule implements Schedule {
  constructor(private readonly delayMs: number) {}
  next(afterMs: number): number {
    return Math.floor(afterMs / 1000) * 1000 + this.delayMs;
  }
}

function parseDuration(s: string): number {
  let total = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) total += Number(m[1]) * DURATION_UNITS[m[2]];
  return total;
}

/**
 * Parses `schedule` for time zone `timeZone` (undefined → UTC). Throws an Error with robfig's message when the
 * schedule or zone is invalid, which the controller reports as an `UnparseableSchedule`/`UnknownTimeZone` event.
 */
export function parseSchedule(schedule: string, timeZone?: string | null): Schedule {
  let tz = timeZone ?? 'UTC';
  if (timeZone !== undefined && timeZone !== null) {
    const errs = validateTimeZone(timeZone);
    if (errs.length) throw new Error(errs[0]);
  }
  const errs = validateCronSchedule(schedule);
  if (errs.length) throw new Error(errs[0]);
  let s = schedule.trim();
  const prefix = /^(?:CRON_)?TZ=(\S+)\s*/.exec(s);
  if (prefix) {
    tz = prefix[1];
    s = s.slice(prefix[0].length);
  }
  if (s.startsWith('@every ')) return new EverySchedule(Math.max(1000, Math.floor(parseDuration(s.slice(7)) / 1000) * 1000));
  const fields = (DESCRIPTORS[s] ?? s).split(/\s+/).filter(Boolean);
  return new CronSchedule(fields.map((f, i) => parseField(f, BOUNDS[i])), tz);
}
