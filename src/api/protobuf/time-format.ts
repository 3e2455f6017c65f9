/**
 * The JSON spellings Kubernetes uses for its time types, so protobuf messages convert to exactly what the JSON API
 * shows: metav1.Time is RFC3339 at second precision, metav1.MicroTime RFC3339 with 6 fractional digits (both in UTC),
 * and metav1.Duration is Go's time.Duration string ("1h0m0s", "1.5s", "300ms").
 */

const NS_PER_S = 1_000_000_000n;
const MAX_INT64 = (1n << 63n) - 1n;

function isoPrefix(seconds: number): string {
  const d = new Date(seconds * 1000);
  const year = d.getUTCFullYear();
  if (!Number.isFinite(d.getTime()) || year < 0 || year > 9999) {
    // Go refuses to marshal these too ("Time.MarshalJSON: year outside of range [0,9999]").
    throw new RangeError(`time ${seconds}s is outside the range of years [0,9999]`);
  }
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(year, 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}T${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

/** metav1.Time → `2024-01-02T03:04:05Z`; Kubernetes drops sub-second precision from Time on the wire and in JSON. */
export function formatTime(seconds: number): string {
  return `${isoPrefix(seconds)}Z`;
}

/** metav1.MicroTime → `2024-01-02T03:04:05.123456Z` (Go's RFC3339Micro, always 6 digits). */
export function formatMicroTime(seconds: number, nanos: number): string {
  const micros = Math.floor(Math.max(0, Math.min(nanos, 999_999_999)) / 1000);
  return `${isoPrefix(seconds)}.${String(micros).padStart(6, '0')}Z`;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|([+-])(\d{2}):(\d{2}))$/;

/** Parses an RFC3339 timestamp (with optional fraction and offset) into Unix seconds + nanos; undefined if malformed. */
export function parseTime(text: string): { seconds: number; nanos: number } | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, min, sec] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || hour > 23 || min > 59 || sec > 59) return undefined;
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, min, sec, 0);
  if (d.getUTCDate() !== day) return undefined; // 2023-02-30 and friends
  let seconds = Math.floor(d.getTime() / 1000);
  if (m[9]) {
    const offH = Number(m[10]);
    const offM = Number(m[11]);
    if (offH > 23 || offM > 59) return undefined;
    seconds -= (m[9] === '-' ? -1 : 1) * (offH * 3600 + offM * 60);
  }
  const nanos = m[7] ? Number(m[7].padEnd(9, '0')) : 0;
  return { seconds, nanos };
}

/** Go's time.Duration.String(): "0s", "1.5µs", "300ms", "1m30s", "1h0m0s"; negative values get a leading "-". */
export function formatDuration(ns: bigint): string {
  if (ns === 0n) return '0s';
  const sign = ns < 0n ? '-' : '';
  const u = ns < 0n ? -ns : ns;
  const frac = (v: bigint, digits: number): [bigint, string] => {
    const scale = 10n ** BigInt(digits);
    const rest = v % scale;
    const text = rest === 0n ? '' : '.' + rest.toString().padStart(digits, '0').replace(/0+$/, '');
    return [v / scale, text];
  };
  if (u < NS_PER_S) {
    if (u < 1000n) return `${sign}${u}ns`;
    const [whole, f] = u < 1_000_000n ? frac(u, 3) : frac(u, 6);
    return `${sign}${whole}${f}${u < 1_000_000n ? 'µs' : 'ms'}`;
  }
  const [secsTotal, f] = frac(u, 9);
  let out = `${secsTotal % 60n}${f}s`;
  const minsTotal = secsTotal / 60n;
  if (minsTotal > 0n) {
    out = `${minsTotal % 60n}m${out}`;
    const hours = minsTotal / 60n;
    if (hours > 0n) out = `${hours}h${out}`;
  }
  return sign + out;
}

const UNITS: Record<string, bigint> = {
  ns: 1n, us: 1000n, 'µs': 1000n, 'μs': 1000n, ms: 1_000_000n, s: NS_PER_S, m: 60n * NS_PER_S, h: 3600n * NS_PER_S,
};

/** Go's time.ParseDuration ("1h30m", "1.5s", "-300ms", "0"); undefined when malformed or out of int64 range. */
export function parseDuration(text: string): bigint | undefined {
  let s = text;
  let neg = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') return undefined;
  let total = 0n;
  const part = /^(\d*)(?:\.(\d*))?([a-zµμ]+)/;
  while (s.length > 0) {
    const m = part.exec(s);
    if (!m || (m[1] === '' && (m[2] ?? '') === '')) return undefined;
    const unit = UNITS[m[3]!];
    if (unit === undefined) return undefined;
    let v = BigInt(m[1] || '0') * unit;
    if (m[2]) {
      // Fractions are scaled by the unit and truncated, as Go does.
      v += (BigInt(m[2]) * unit) / 10n ** BigInt(m[2].length);
    }
    total += v;
    if (total > MAX_INT64 + (neg ? 1n : 0n)) return undefined;
    s = s.slice(m[0].length);
  }
  return neg ? -total : total;
}
