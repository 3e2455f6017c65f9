/**
 * CronJob schedules as kube-apiserver accepts them: robfig/cron v3 `ParseStandard` (five fields, month and weekday
 * names, ranges, steps, `*`/`?`, and the `@yearly`…`@hourly`/`@every <duration>` descriptors), with its error texts,
 * and `time.LoadLocation`-style time-zone checks.
 */

interface Bounds { min: number; max: number; names?: Record<string, number> }

const MONTHS: Record<string, number> = { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 };
const DOWS: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };
const FIELDS: Bounds[] = [
  { min: 0, max: 59 }, { min: 0, max: 23 }, { min: 1, max: 31 }, { min: 1, max: 12, names: MONTHS }, { min: 0, max: 6, names: DOWS },
];
const DESCRIPTORS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];

function goAtoi(s: string): number | string {
  if (/^[+-]?[0-9]+$/.test(s)) return Number(s);
  return `strconv.Atoi: parsing ${JSON.stringify(s)}: invalid syntax`;
}

function parseIntOrName(expr: string, names?: Record<string, number>): number | string {
  if (names) {
    const n = names[expr.toLowerCase()];
    if (n !== undefined) return n;
  }
  const v = goAtoi(expr);
  if (typeof v === 'string') return `failed to parse int from ${expr}: ${v}`;
  if (v < 0) return `negative number (${v}) not allowed: ${expr}`;
  return v;
}

function parseRange(expr: string, b: Bounds): string | undefined {
  const rangeAndStep = expr.split('/');
  const lowAndHigh = rangeAndStep[0].split('-');
  const singleDigit = lowAndHigh.length === 1;
  let start: number;
  let end: number;
  let extra = false;
  if (lowAndHigh[0] === '*' || lowAndHigh[0] === '?') {
    start = b.min;
    end = b.max;
    extra = true;
  } else {
    const s = parseIntOrName(lowAndHigh[0], b.names);
    if (typeof s === 'string') return s;
    start = s;
    if (lowAndHigh.length === 1) end = start;
    else if (lowAndHigh.length === 2) {
      const e = parseIntOrName(lowAndHigh[1], b.names);
      if (typeof e === 'string') return e;
      end = e;
    } else return `too many hyphens: ${expr}`;
  }
  let step = 1;
  if (rangeAndStep.length === 2) {
    const st = goAtoi(rangeAndStep[1]);
    if (typeof st === 'string') return `failed to parse int from ${rangeAndStep[1]}: ${st}`;
    if (st < 0) return `negative number (${st}) not allowed: ${rangeAndStep[1]}`;
    step = st;
    if (singleDigit && !extra) end = b.max;
    if (step > 1) extra = false;
  } else if (rangeAndStep.length > 2) return `too many slashes: ${expr}`;
  if (start < b.min) return `beginning of range (${start}) below minimum (${b.min}): ${expr}`;
  if (end > b.max) return `end of range (${end}) above maximum (${b.max}): ${expr}`;
  if (start > end) return `beginning of range (${start}) beyond end of range (${end}): ${expr}`;
  if (step === 0) return `step of range should be a positive number: ${expr}`;
  return undefined;
}

const GO_DURATION = /^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$|^0$/;

/** Returns robfig/cron's parse error (empty when the schedule is valid). */
export function validateCronSchedule(spec: string): string[] {
  if (spec.length === 0) return ['empty spec string'];
  let s = spec;
  if (s.startsWith('TZ=') || s.startsWith('CRON_TZ=')) {
    const i = s.indexOf(' ');
    const eq = s.indexOf('=');
    const loc = s.slice(eq + 1, i < 0 ? undefined : i);
    if (validateTimeZone(loc).length) return [`provided bad location ${loc}: unknown time zone ${loc}`];
    s = i < 0 ? '' : s.slice(i).trim();
  }
  if (s.startsWith('@')) {
    if (DESCRIPTORS.includes(s)) return [];
    if (s.startsWith('@every ')) {
      const d = s.slice('@every '.length);
      if (!GO_DURATION.test(d)) return [`failed to parse duration ${s}: time: invalid duration ${JSON.stringify(d)}`];
      return [];
    }
    return [`unrecognized descriptor: ${s}`];
  }
  const fields = s.split(/\s+/).filter((f) => f !== '');
  if (fields.length !== 5) return [`expected exactly 5 fields, found ${fields.length}: [${fields.join(' ')}]`];
  for (let i = 0; i < 5; i++) {
    for (const part of fields[i].split(',')) {
      const err = parseRange(part, FIELDS[i]);
      if (err) return [err];
    }
  }
  return [];
}

/** True when `validateCronSchedule` accepts the schedule. */
export const isValidCronSchedule = (s: string): boolean => validateCronSchedule(s).length === 0;

/** `validateTimeZone` from batch validation: explicit IANA names only. */
export function validateTimeZone(tz: string): string[] {
  if (tz.length === 0) return ['timeZone must be nil or non-empty string'];
  for (const part of tz.split('/')) {
    if (part === '.' || part === '..' || part.startsWith('-') || !/^[A-Za-z.\-_0-9+]{1,14}$/.test(part)) return [`unknown time zone ${tz}`];
  }
  if (tz.toLowerCase() === 'local') return ['timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones'];
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    return [`unknown time zone ${tz}`];
  }
  return [];
}
