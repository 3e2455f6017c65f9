/**
 * Shape-tolerant accessors for validation. Objects arrive as arbitrary JSON (a string where an object belongs, an
 * array where a map belongs, null); upstream would fail decoding, we report a FieldValueTypeInvalid cause at the
 * field path and carry on, so validation never throws.
 */

import { cause, type StatusCause } from '../errors.js';
import { compareQuantities, parseQuantity, QuantityError, type Quantity } from '../quantity.js';

export type Rec = Record<string, unknown>;
export type Errs = StatusCause[];

export const isObj = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
export const isMissing = (v: unknown): boolean => v === undefined || v === null;

/** Field path helpers producing upstream's notation: `spec.containers[0].ports[1].containerPort`, `data[key]`. */
export const child = (p: string, k: string): string => (p ? `${p}.${k}` : k);
export const index = (p: string, i: number): string => `${p}[${i}]`;
export const key = (p: string, k: string): string => `${p}[${k}]`;

/** `field.Required` with an optional detail. */
export function required(path: string, detail = ''): StatusCause {
  return cause.required(path, detail ? `Required value: ${detail}` : 'Required value');
}
export const invalid = cause.invalid;
export const notSupported = cause.notSupported;
export const forbidden = cause.forbidden;
export const duplicate = cause.duplicate;
export const tooLong = cause.tooLong;

/** `field.TooMany`. */
export function tooMany(path: string, actual: number, max: number): StatusCause {
  return { reason: 'FieldValueTooMany', message: `Too many: ${actual}: must have at most ${max} items`, field: path };
}

function typeErr(errs: Errs, path: string, v: unknown, type: string): undefined {
  errs.push(cause.typeInvalid(path, v, `must be of type ${type}`));
  return undefined;
}

/** The value as an object; absent/null → undefined; anything else → a type cause. */
export function obj(v: unknown, path: string, errs: Errs): Rec | undefined {
  if (isMissing(v)) return undefined;
  return isObj(v) ? v : typeErr(errs, path, v, 'object');
}

/** The value as an array of objects; non-object items are reported and skipped (indices preserved). */
export function objList(v: unknown, path: string, errs: Errs): Array<[Rec, number]> {
  const a = arr(v, path, errs);
  if (!a) return [];
  const out: Array<[Rec, number]> = [];
  for (let i = 0; i < a.length; i++) {
    const it = a[i];
    if (it === undefined && !(i in a)) continue; // a hole (never from JSON): skipped, as forEach did
    if (isObj(it)) out.push([it, i]);
    else typeErr(errs, index(path, i), it, 'object');
  }
  return out;
}

/*
 * Field accessors: `str(o[k], child(path, k), errs)` and friends, building the field path only when the value is
 * present and of the wrong type (the valid and the absent case allocate no path string).
 */
export function strField(o: Rec, k: string, path: string, errs: Errs): string | undefined {
  const v = o[k];
  return typeof v === 'string' ? v : isMissing(v) ? undefined : str(v, child(path, k), errs);
}
export function intField(o: Rec, k: string, path: string, errs: Errs): number | undefined {
  const v = o[k];
  return typeof v === 'number' && Number.isInteger(v) ? v : isMissing(v) ? undefined : int(v, child(path, k), errs);
}
export function boolField(o: Rec, k: string, path: string, errs: Errs): boolean | undefined {
  const v = o[k];
  return typeof v === 'boolean' ? v : isMissing(v) ? undefined : bool(v, child(path, k), errs);
}
export function objField(o: Rec, k: string, path: string, errs: Errs): Rec | undefined {
  const v = o[k];
  return isObj(v) ? v : isMissing(v) ? undefined : obj(v, child(path, k), errs);
}

export function arr(v: unknown, path: string, errs: Errs): unknown[] | undefined {
  if (isMissing(v)) return undefined;
  return Array.isArray(v) ? v : typeErr(errs, path, v, 'array');
}

/** The value as a string; absent/null → undefined. */
export function str(v: unknown, path: string, errs: Errs): string | undefined {
  if (isMissing(v)) return undefined;
  return typeof v === 'string' ? v : typeErr(errs, path, v, 'string');
}

/** A string, '' when absent (Go's zero value). */
export function strOr(v: unknown, path: string, errs: Errs): string {
  return str(v, path, errs) ?? '';
}

/** An integer (JSON numbers with a fraction are a type error as in Go's int decoding). */
export function int(v: unknown, path: string, errs: Errs): number | undefined {
  if (isMissing(v)) return undefined;
  return typeof v === 'number' && Number.isInteger(v) ? v : typeErr(errs, path, v, 'integer');
}

export function bool(v: unknown, path: string, errs: Errs): boolean | undefined {
  if (isMissing(v)) return undefined;
  return typeof v === 'boolean' ? v : typeErr(errs, path, v, 'boolean');
}

/** A map of strings (labels, data, selectors); wrongly typed values are reported at `path[key]` and dropped. */
export function strMap(v: unknown, path: string, errs: Errs): Record<string, string> | undefined {
  const o = obj(v, path, errs);
  if (!o) return undefined;
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(o)) {
    if (typeof val === 'string') out[k] = val;
    else typeErr(errs, key(path, k), val, 'string');
  }
  return out;
}

/** A list of strings; wrongly typed items are reported and dropped. */
export function strList(v: unknown, path: string, errs: Errs): string[] {
  const a = arr(v, path, errs);
  if (!a) return [];
  const out: string[] = [];
  for (let i = 0; i < a.length; i++) {
    const it = a[i];
    if (it === undefined && !(i in a)) continue; // a hole (never from JSON): skipped, as forEach did
    if (typeof it === 'string') out.push(it);
    else typeErr(errs, index(path, i), it, 'string');
  }
  return out;
}

/** An int-or-string (`intstr.IntOrString`). */
export function intOrString(v: unknown, path: string, errs: Errs): number | string | undefined {
  if (isMissing(v)) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  return typeErr(errs, path, v, 'integer or string');
}

/** Parses a quantity field (string or JSON number); invalid → an Invalid cause with the upstream parse error. */
export function quantity(v: unknown, path: string, errs: Errs): Quantity | undefined {
  if (isMissing(v)) return undefined;
  if (typeof v !== 'string' && typeof v !== 'number') return typeErr(errs, path, v, 'string');
  const s = typeof v === 'number' ? String(v) : v.trim();
  try {
    return parseQuantity(s);
  } catch (e) {
    errs.push(invalid(path, v, e instanceof QuantityError ? e.message : String(e)));
    return undefined;
  }
}

/** `ValidateNonnegativeField` / `ValidateNonnegativeQuantity`. */
export function nonNegative(v: number | undefined, path: string, errs: Errs): void {
  if (v !== undefined && v < 0) errs.push(invalid(path, v, 'must be greater than or equal to 0'));
}
export function positive(v: number | undefined, path: string, errs: Errs): void {
  if (v !== undefined && v <= 0) errs.push(invalid(path, v, 'must be greater than zero'));
}
export function nonNegativeQuantity(q: Quantity | undefined, raw: unknown, path: string, errs: Errs): void {
  if (q && compareQuantities(q, '0') < 0) errs.push(invalid(path, raw, 'must be greater than or equal to 0'));
}

/** Enum check producing `Unsupported value`. */
export function oneOf(v: string | undefined, allowed: string[], path: string, errs: Errs, requiredIfEmpty = false): void {
  if (v === undefined || v === '') {
    if (requiredIfEmpty) errs.push(required(path));
    return;
  }
  if (!allowed.includes(v)) errs.push(notSupported(path, v, allowed));
}

/** Wraps upstream string-validator messages into Invalid causes. */
export function msgs(errs: Errs, path: string, value: unknown, messages: string[]): void {
  for (const m of messages) errs.push(invalid(path, value, m));
}

/** Go zero values: absent, null, '', [] and {} compare equal to each other (`apiequality.Semantic.DeepEqual`). */
function isEmptyish(v: unknown): boolean {
  return isMissing(v) || v === '' || (Array.isArray(v) && v.length === 0) || (isObj(v) && Object.keys(v).every((k) => v[k] === undefined));
}

/** Deep equality for JSON values (immutability checks), treating Go zero values (absent, null, '', [], {}) alike. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (isEmptyish(a) && isEmptyish(b)) return true;
  if (a === b) return true;
  if (typeof a !== typeof b || isMissing(a) || isMissing(b)) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (isObj(a)) {
    if (!isObj(b)) return false;
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) if (!jsonEqual(a[k], b[k])) return false;
    return true;
  }
  return false;
}

/** `ValidateImmutableField`: `field is immutable`. */
export function immutable(newV: unknown, oldV: unknown, path: string, errs: Errs): void {
  if (!jsonEqual(newV, oldV)) errs.push(invalid(path, newV, 'field is immutable'));
}
