/**
 * `sameJson(a, b)` answers exactly what `JSON.stringify(a) === JSON.stringify(b)` answers, without building either
 * text. It is the "nothing changed, skip the write" check: the apiserver's no-op update/patch/delete (an unchanged
 * object is not written and keeps its resourceVersion), the kubelet's and controllers' status writes, the
 * scheduler's event filters. Two serializations of a whole pod cost more than the walk, which also stops at the
 * first difference. Key order matters, as it does for the texts. Values the walk does not model (objects with
 * `toJSON`, or other than plain objects and arrays; bigints) fall back to comparing the texts.
 */

/** Undefined, functions and symbols: left out of objects, `null` in arrays. */
function skipped(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol';
}

function plain(o: object): boolean {
  const proto = Object.getPrototypeOf(o);
  return (proto === Object.prototype || proto === null || proto === Array.prototype) && typeof (o as { toJSON?: unknown }).toJSON !== 'function';
}

const FALLBACK = Symbol('fallback');

/** True, false, or FALLBACK when a value outside the model was met. */
function eq(a: unknown, b: unknown): boolean | typeof FALLBACK {
  if (typeof a === 'number' && !Number.isFinite(a)) a = null;
  if (typeof b === 'number' && !Number.isFinite(b)) b = null;
  if (a === b) return a === null || typeof a !== 'object' || plain(a) ? true : FALLBACK;
  if (typeof a === 'bigint' || typeof b === 'bigint') return FALLBACK;
  if ((typeof a === 'object' && a !== null && !plain(a)) || (typeof b === 'object' && b !== null && !plain(b))) return FALLBACK;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const arr = Array.isArray(a);
  if (arr !== Array.isArray(b)) return false;
  if (arr) {
    const x = a as unknown[];
    const y = b as unknown[];
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) {
      const r = eq(skipped(x[i]) ? null : x[i], skipped(y[i]) ? null : y[i]);
      if (r !== true) return r;
    }
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const kx = Object.keys(x);
  const ky = Object.keys(y);
  let i = 0;
  let j = 0;
  for (;;) {
    while (i < kx.length && skipped(x[kx[i]!])) i++;
    while (j < ky.length && skipped(y[ky[j]!])) j++;
    if (i === kx.length || j === ky.length) return i === kx.length && j === ky.length;
    if (kx[i] !== ky[j]) return false;
    const r = eq(x[kx[i]!], y[ky[j]!]);
    if (r !== true) return r;
    i++;
    j++;
  }
}

/** See the module comment. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (skipped(a) || skipped(b)) return skipped(a) && skipped(b); // both serialize to undefined
  const r = eq(a, b);
  return r === FALLBACK ? JSON.stringify(a) === JSON.stringify(b) : r;
}
