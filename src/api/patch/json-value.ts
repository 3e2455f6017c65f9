/**
 * Plain-JSON helpers shared by the patch implementations: a depth-limited deep clone that also checks the value is
 * JSON, prototype-safe property writes, and Go-style `%v` formatting so error messages read like kube-apiserver's.
 */

import { errors } from '../errors.js';

/** A JSON value as JSON.parse produces it. */
export type Json = null | boolean | number | string | Json[] | JsonObject;
/** A JSON object. */
export interface JsonObject {
  [k: string]: Json;
}

/**
 * Deepest nesting accepted in a patch or document. kube-apiserver's JSON decoder stops at 10000; our merges are
 * recursive, so we stop far earlier (real objects are < 40 deep) to rule out stack exhaustion.
 */
export const MAX_DEPTH = 1000;

/** True for a JSON object (not an array, not null). */
export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Own-property test: patches are user input, so inherited names (`constructor`, `__proto__`) must never match. */
export function hasOwn(o: object, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, k);
}

/** Sets `o[k]` as an own data property even for `__proto__`, which plain assignment would treat as the prototype. */
export function put(o: JsonObject, k: string, v: Json): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
  else o[k] = v;
}

/**
 * Deep copy of a JSON value. Rejects non-JSON values and nesting deeper than MAX_DEPTH with 400 BadRequest, so
 * later recursive walks are bounded and inputs are never mutated.
 */
export function cloneJson(v: unknown, what = 'patch', depth = 0): Json {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw errors.badRequest(`error decoding ${what}: unsupported value: ${String(v)}`);
    return v;
  }
  if (typeof v !== 'object') throw errors.badRequest(`error decoding ${what}: unsupported type ${typeof v}`);
  if (depth >= MAX_DEPTH) throw errors.badRequest(`error decoding ${what}: exceeded max depth of ${MAX_DEPTH}`);
  if (Array.isArray(v)) {
    const out: Json[] = new Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = cloneJson(v[i], what, depth + 1);
    return out;
  }
  const out: JsonObject = {};
  for (const k of Object.keys(v)) put(out, k, cloneJson((v as Record<string, unknown>)[k], what, depth + 1));
  return out;
}

/** Longest rendering of a value inside an error message. */
const FMT_LIMIT = 256;

/**
 * Go's `fmt.Sprintf("%v", x)` for decoded JSON (`map[a:1 b:[x y]]`, `<nil>`), truncated. Upstream error messages
 * embed values this way and clients sometimes match on them.
 */
export function goFormat(v: unknown): string {
  const s = fmt(v, 0);
  return s.length > FMT_LIMIT ? s.slice(0, FMT_LIMIT) + '...' : s;
}

function fmt(v: unknown, depth: number): string {
  if (v === null || v === undefined) return '<nil>';
  if (depth > 8) return '...';
  if (Array.isArray(v)) return '[' + v.slice(0, 32).map((x) => fmt(x, depth + 1)).join(' ') + (v.length > 32 ? ' ...' : '') + ']';
  if (typeof v === 'object') {
    const keys = Object.keys(v).sort();
    return 'map[' + keys.slice(0, 32).map((k) => `${k}:${fmt((v as Record<string, unknown>)[k], depth + 1)}`).join(' ') + (keys.length > 32 ? ' ...' : '') + ']';
  }
  return String(v);
}
