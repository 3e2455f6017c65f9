/**
 * Kubernetes resource quantities (`100m`, `1.5Gi`, `1e3`, `2k`), parsed and printed exactly like apimachinery's
 * `resource.Quantity`: the same scanner, the same suffix tables, values rounded up to nano precision, BinarySI capped
 * at 2^63-1, and the same canonical form (`1.5` → `1500m`, `1000` → `1k`, `1.5Gi` → `1536Mi`), including the way
 * upstream keeps the caller's spelling when it is already canonical (`1E3` stays `1E3`).
 *
 * Values are exact: a BigInt mantissa times a power of ten, so memory up to Ei and CPU in milli-units never lose
 * precision.
 */

/** The three spellings upstream distinguishes; the canonical form keeps the family the value was written in. */
export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

/**
 * An exact quantity: `mantissa × 10^exponent`, mantissa without trailing zeros (zero is `0n × 10^0`). `cached` is the
 * original spelling when upstream would reuse it (see `formatQuantity`). Treat as immutable.
 */
export interface Quantity {
  readonly mantissa: bigint;
  readonly exponent: number;
  readonly format: QuantityFormat;
  readonly cached?: string;
}

/** The regular expression upstream quotes in ErrFormatWrong. */
export const QUANTITY_REGEX_STRING = '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$';
/** Upstream error texts (apimachinery `resource.ErrFormatWrong`, `ErrNumeric`, `ErrSuffix`). */
export const QUANTITY_ERR_FORMAT = `quantities must match the regular expression '${QUANTITY_REGEX_STRING}'`;
export const QUANTITY_ERR_NUMERIC = 'unable to parse numeric part of quantity';
export const QUANTITY_ERR_SUFFIX = "unable to parse quantity's suffix";

/** Thrown by `parseQuantity`; `message` is the upstream error text. */
export class QuantityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QuantityError';
  }
}

const INT64_MAX = (1n << 63n) - 1n;
const NANO = -9;

const DEC_SUFFIXES: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BIN_SUFFIXES: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DEC_BY_EXP = new Map<number, string>(Object.entries(DEC_SUFFIXES).map(([s, e]) => [e, s]));
const BIN_BY_POWER = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];

const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const pow10 = (n: number): bigint => 10n ** BigInt(n);
const abs = (v: bigint): bigint => (v < 0n ? -v : v);

interface Scanned { positive: boolean; num: string; denom: string; suffix: string }

/** Mirrors apimachinery `parseQuantityString`: sign, leading zeros, numerator, optional fraction, suffix. */
function scan(str: string): Scanned {
  let positive = true;
  let pos = 0;
  const end = str.length;
  if (pos < end) {
    if (str[0] === '-') { positive = false; pos++; } else if (str[0] === '+') pos++;
  }
  while (pos < end && str[pos] === '0') pos++;
  if (pos >= end) return { positive, num: '0', denom: '', suffix: '' };
  let i = pos;
  while (i < end && isDigit(str[i])) i++;
  let num = str.slice(pos, i);
  if (i >= end) return { positive, num: num || '0', denom: '', suffix: '' };
  pos = i;
  if (num.length === 0) num = '0';
  let denom = '';
  if (str[pos] === '.') {
    pos++;
    i = pos;
    while (i < end && isDigit(str[i])) i++;
    denom = str.slice(pos, i);
    if (i >= end) return { positive, num, denom, suffix: '' };
    pos = i;
  }
  const suffixStart = pos;
  i = pos;
  while (i < end && 'eEinumkKMGTP'.includes(str[i])) i++;
  if (i >= end) return { positive, num, denom, suffix: str.slice(suffixStart) };
  pos = i;
  if (str[pos] === '-' || str[pos] === '+') pos++;
  i = pos;
  while (i < end && isDigit(str[i])) i++;
  if (i >= end) return { positive, num, denom, suffix: str.slice(suffixStart) };
  throw new QuantityError(QUANTITY_ERR_FORMAT);
}

/** Mirrors `suffixHandler.interpret`: decimal table, binary table, then `e<int>` exponents (int32-truncated). */
function interpret(suffix: string): { base: 2 | 10; exponent: number; format: QuantityFormat } | undefined {
  if (Object.prototype.hasOwnProperty.call(DEC_SUFFIXES, suffix)) return { base: 10, exponent: DEC_SUFFIXES[suffix], format: 'DecimalSI' };
  if (Object.prototype.hasOwnProperty.call(BIN_SUFFIXES, suffix)) return { base: 2, exponent: BIN_SUFFIXES[suffix], format: 'BinarySI' };
  if (suffix.length > 1 && (suffix[0] === 'e' || suffix[0] === 'E')) {
    const rest = suffix.slice(1);
    if (!/^[+-]?[0-9]+$/.test(rest)) return undefined;
    const v = BigInt(rest);
    if (v > INT64_MAX || v < -INT64_MAX - 1n) return undefined;
    return { base: 10, exponent: Number(BigInt.asIntN(32, v)), format: 'DecimalExponent' };
  }
  return undefined;
}

/** Builds a normalized quantity (trailing zeros folded into the exponent). */
function make(mantissa: bigint, exponent: number, format: QuantityFormat, cached?: string): Quantity {
  if (mantissa === 0n) return cached === undefined ? { mantissa: 0n, exponent: 0, format } : { mantissa: 0n, exponent: 0, format, cached };
  while (mantissa % 10n === 0n) { mantissa /= 10n; exponent++; }
  return cached === undefined ? { mantissa, exponent, format } : { mantissa, exponent, format, cached };
}

/** Rounds |m|×10^e up (away from zero) to 10^scale precision; returns the new mantissa at exponent `scale`. */
function roundUpTo(m: bigint, e: number, scale: number): { m: bigint; exact: boolean } {
  if (e >= scale) return { m: m * pow10(e - scale), exact: true };
  const shift = scale - e;
  const neg = m < 0n;
  const a = abs(m);
  if (shift > a.toString().length + 1) return { m: a === 0n ? 0n : neg ? -1n : 1n, exact: a === 0n };
  const d = pow10(shift);
  let q = a / d;
  const exact = q * d === a;
  if (!exact) q += 1n;
  return { m: neg ? -q : q, exact };
}

/**
 * Parses a quantity as apimachinery `resource.ParseQuantity` does; throws a QuantityError carrying the upstream
 * message (`quantities must match the regular expression ...`, `unable to parse quantity's suffix`).
 */
export function parseQuantity(str: string): Quantity {
  // Objects repeat the same few quantities ("100m", "128Mi") and parsing is pure: answer from a bounded memo.
  // Results are frozen, as they are shared (callers treat quantities as immutable anyway); errors are not memoized.
  return remember(PARSED, str, () => Object.freeze(parseQuantityUncached(str)));
}

/** `quantityToNumber(parseQuantity(str))`, memoized (pod QOS classes and kubelet sizes ask for the same few). */
export function parseQuantityNumber(str: string): number {
  return remember(NUMBERS, str, () => quantityToNumber(parseQuantity(str)));
}

const MEMO_MAX = 1024;
const NUMBERS = new Map<string, number>();
const PARSED = new Map<string, Quantity>();
const CANON = new Map<string | number, unknown>();
const CANON_MILLI = new Map<string | number, unknown>();

/** `memo`'s answer for `key`, computing (and keeping) it on a miss; the memo is emptied when it reaches MEMO_MAX. */
function remember<K, V>(memo: Map<K, V>, key: K, compute: () => V): V {
  const hit = memo.get(key);
  if (hit !== undefined) return hit;
  const v = compute();
  if (memo.size >= MEMO_MAX) memo.clear();
  memo.set(key, v);
  return v;
}

/**
 * What the apiserver's Go round trip stores for a submitted quantity value: the canonical spelling (rounded up to
 * milli precision with `roundMilli`, as `SetDefaults_ResourceList` does); a value that does not parse is returned
 * as is (validation reports it). Memoized like `parseQuantity`.
 */
export function canonicalQuantityValue(v: string | number, roundMilli: boolean): unknown {
  return remember(roundMilli ? CANON_MILLI : CANON, v, () => {
    try {
      let q = parseQuantity(typeof v === 'number' ? String(v) : v.trim());
      if (roundMilli) q = roundUpQuantity(q, -3);
      return formatQuantity(q);
    } catch {
      return v;
    }
  });
}

function parseQuantityUncached(str: string): Quantity {
  if (typeof str !== 'string' || str.length === 0) throw new QuantityError(QUANTITY_ERR_FORMAT);
  if (str === '0') return { mantissa: 0n, exponent: 0, format: 'DecimalSI', cached: '0' };
  const { positive, num, denom, suffix } = scan(str);
  const suf = interpret(suffix);
  if (!suf) throw new QuantityError(QUANTITY_ERR_SUFFIX);
  const { base, exponent, format } = suf;

  // Upstream's int64 fast path decides whether the caller's spelling is reused verbatim.
  let precision: number;
  let scale = 0;
  let mult = 1n;
  if (format === 'BinarySI') {
    if (exponent >= 0 && denom.length === 0) {
      mult = 1n << BigInt(exponent);
      precision = 15 - num.length - Math.trunc(Math.fround(Math.fround(exponent) * 3) / 10) - 1;
    } else precision = -1;
  } else {
    scale = exponent;
    precision = 18 - (num.length + denom.length);
  }
  if (precision >= 0) {
    scale -= denom.length;
    if (scale >= NANO) {
      const shifted = num + denom;
      const value = BigInt(shifted);
      const product = value * mult;
      if (product <= INT64_MAX) {
        const result = positive ? product : -product;
        let keep = false;
        if (format === 'BinarySI') keep = exponent % 10 === 0 && (value & 7n) !== 0n;
        else keep = scale % 3 === 0 && !shifted.endsWith('000') && shifted[0] !== '0';
        return make(result, scale, format, keep ? str : undefined);
      }
    }
  }

  // Slow path: exact decimal arithmetic, rounded up to nano, BinarySI capped at int64.
  let m = BigInt(num + denom);
  let e = -denom.length;
  if (base === 10) e += exponent;
  else m *= 1n << BigInt(exponent);
  if (m !== 0n && e < NANO) {
    m = roundUpTo(m, e, NANO).m;
    e = NANO;
  }
  let fmt = format;
  if (fmt === 'BinarySI') {
    if (compareParts(m, e, INT64_MAX, 0) > 0) { m = INT64_MAX; e = 0; }
    if (m !== 0n && compareParts(m, e, 1n, 0) < 0) fmt = 'DecimalSI';
  }
  return make(positive ? m : -m, e, fmt);
}

/** True when `parseQuantity` accepts the string. */
export function isValidQuantity(s: unknown): boolean {
  if (typeof s !== 'string') return false;
  try {
    parseQuantity(s);
    return true;
  } catch {
    return false;
  }
}

/** Compares two non-negative-or-signed values given as mantissa×10^exponent without materializing huge powers. */
function compareParts(am: bigint, ae: number, bm: bigint, be: number): -1 | 0 | 1 {
  const as = am === 0n ? 0 : am < 0n ? -1 : 1;
  const bs = bm === 0n ? 0 : bm < 0n ? -1 : 1;
  if (as !== bs) return as < bs ? -1 : 1;
  if (as === 0) return 0;
  const aa = abs(am);
  const ba = abs(bm);
  const amag = aa.toString().length + ae;
  const bmag = ba.toString().length + be;
  let r: number;
  if (amag !== bmag) r = amag < bmag ? -1 : 1;
  else {
    const e = Math.min(ae, be);
    const x = aa * pow10(ae - e);
    const y = ba * pow10(be - e);
    r = x === y ? 0 : x < y ? -1 : 1;
  }
  return (as < 0 ? -r : r) as -1 | 0 | 1;
}

type QLike = Quantity | string;
const toQ = (q: QLike): Quantity => (typeof q === 'string' ? parseQuantity(q) : q);

/** Numeric comparison (`Quantity.Cmp`): -1, 0 or 1. Strings are parsed first. */
export function compareQuantities(a: QLike, b: QLike): -1 | 0 | 1 {
  const x = toQ(a);
  const y = toQ(b);
  return compareParts(x.mantissa, x.exponent, y.mantissa, y.exponent);
}

/** Equality by value (`1k` equals `1000`), as `Quantity.Equal`. */
export function quantitiesEqual(a: QLike, b: QLike): boolean {
  return compareQuantities(a, b) === 0;
}

/** -1, 0 or 1. */
export function quantitySign(q: QLike): -1 | 0 | 1 {
  const m = toQ(q).mantissa;
  return m === 0n ? 0 : m < 0n ? -1 : 1;
}

/** `ceil(q × 10^scale)` rounded away from zero, as upstream `ScaledValue`; exact BigInt. */
export function quantityScaledValue(q: QLike, scale: number): bigint {
  const x = toQ(q);
  return roundUpTo(x.mantissa, x.exponent, scale).m;
}

/** `Quantity.Value()`: the integer value rounded up (bytes for memory). */
export function quantityValue(q: QLike): bigint {
  return quantityScaledValue(q, 0);
}

/** `Quantity.MilliValue()`: ceil(q × 1000) as a BigInt. */
export function quantityMilliValue(q: QLike): bigint {
  return quantityScaledValue(q, -3);
}

/** `Quantity.MilliValue()` as a JS number (CPU in millicores); exact below 2^53. */
export function quantityToMilli(q: QLike): number {
  return Number(quantityMilliValue(q));
}

/** The value as a floating-point number (`AsApproximateFloat64`). */
export function quantityToNumber(q: QLike): number {
  const x = toQ(q);
  if (x.mantissa === 0n) return 0;
  return Number(`${x.mantissa}e${x.exponent}`);
}

/** True for a zero quantity. */
export function isZeroQuantity(q: QLike): boolean {
  return toQ(q).mantissa === 0n;
}

/**
 * The canonical string (`Quantity.String()`): the caller's spelling when upstream caches it, else the canonical form
 * computed from value and format.
 */
export function formatQuantity(q: Quantity): string {
  return q.cached ?? canonicalString(q);
}

/** Canonical form ignoring any cached spelling (`CanonicalizeBytes`). */
export function canonicalString(q: Quantity): string {
  if (q.mantissa === 0n) return '0';
  let format = q.format;
  if (format === 'BinarySI') {
    if (compareParts(q.mantissa, q.exponent, -1024n, 0) > 0 && compareParts(q.mantissa, q.exponent, 1024n, 0) < 0) format = 'DecimalSI';
    else if (q.exponent < 0) format = 'DecimalSI'; // normalized mantissa: negative exponent means a fraction
  }
  if (format === 'BinarySI') {
    let n = q.mantissa * pow10(q.exponent);
    let p = 0;
    while (p < BIN_BY_POWER.length - 1 && n % 1024n === 0n) { n /= 1024n; p++; }
    return `${n}${BIN_BY_POWER[p]}`;
  }
  let m = q.mantissa;
  let e = q.exponent;
  while (e % 3 !== 0) { m *= 10n; e--; }
  if (format === 'DecimalSI') {
    const s = DEC_BY_EXP.get(e);
    if (s !== undefined) return `${m}${s}`;
  }
  return e === 0 ? `${m}` : `${m}e${e}`;
}

/** Parses and re-prints: what kube-apiserver stores for a submitted quantity. Throws on invalid input. */
export function canonicalQuantity(s: string | number): string {
  return formatQuantity(parseQuantity(typeof s === 'number' ? String(s) : s));
}

/** A quantity from an integer count (`resource.NewQuantity`). */
export function newQuantity(value: bigint | number, format: QuantityFormat = 'DecimalSI'): Quantity {
  return make(BigInt(value), 0, format);
}

/** A quantity from milli-units (`resource.NewMilliQuantity`, e.g. 250 → `250m`). */
export function newMilliQuantity(milli: bigint | number, format: QuantityFormat = 'DecimalSI'): Quantity {
  return make(BigInt(milli), -3, format);
}

/**
 * `value × 10^scale` (`resource.NewScaledQuantity` plus a format, as metrics-server builds usage: CPU nanocores are
 * `(n, -9, 'DecimalSI')` → `123n`, `250m`; memory bytes `(n, 0, 'BinarySI')` → `1Ki`, but `1k` below 1024).
 */
export function newScaledQuantity(value: bigint | number, scale: number, format: QuantityFormat = 'DecimalSI'): Quantity {
  return make(BigInt(value), scale, format);
}

function addParts(a: Quantity, b: Quantity, sign: 1n | -1n): Quantity {
  const e = Math.min(a.exponent, b.exponent);
  const m = a.mantissa * pow10(a.exponent - e) + sign * b.mantissa * pow10(b.exponent - e);
  return make(m, e, a.mantissa === 0n ? b.format : a.format);
}

/** a + b (`Quantity.Add`): keeps a's format unless a is zero. */
export function addQuantities(a: QLike, b: QLike): Quantity {
  return addParts(toQ(a), toQ(b), 1n);
}

/** a − b (`Quantity.Sub`): keeps a's format unless a is zero. */
export function subtractQuantities(a: QLike, b: QLike): Quantity {
  return addParts(toQ(a), toQ(b), -1n);
}

/**
 * Rounds up to 10^scale precision (`Quantity.RoundUp`), dropping the cached spelling only when the value changes
 * precision; used by ResourceList defaulting, which rounds every value to milli-units.
 */
export function roundUpQuantity(q: Quantity, scale: number): Quantity {
  if (q.exponent >= scale) return q;
  const r = roundUpTo(q.mantissa, q.exponent, scale);
  return make(r.m, scale, q.format);
}
