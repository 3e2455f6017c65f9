/**
 * Kubernetes strategic merge patch (`application/strategic-merge-patch+json`), server side: what
 * k8s.io/apimachinery's `StrategicMergeMapPatch` does with `MergeParallelList` and `IgnoreUnmatchedNulls`, driven by
 * the tag graph in patch-meta.ts instead of Go struct tags.
 *
 * Semantics, in upstream's order for each map:
 *  1. `$patch: replace` takes the patch map as is, `$patch: delete` yields `{}`; any other value is a 400.
 *  2. `$retainKeys: [...]` drops original keys not listed (and rejects patch keys not listed).
 *  3. `$setElementOrder/<list>` merges that list and then orders it: listed items in the listed order, interleaved
 *     with server-only items by their original positions.
 *  4. Every other key: `null` deletes; a key the original lacks is taken from the patch; maps merge recursively;
 *     lists with `patchStrategy: merge` merge element-wise by their merge key (scalars merge as a set) and everything
 *     else replaces. Without `$setElementOrder`, patch items keep the patch's relative order and are interleaved with
 *     server-only items: new items (not in the original) land before the server-only items that follow them, exactly
 *     as upstream's mergeSortedSlice does.
 *  5. `$deleteFromPrimitiveList/<list>` removes scalars from that list.
 * List items may carry `$patch: delete` (remove the item with that merge key) or `$patch: replace` (the list becomes
 * the patch's other items). Directives never reach the result, even inside values that are taken wholesale.
 *
 * Errors are ApiErrors: 400 BadRequest for malformed patches (upstream answers 500 for several of these, since it
 * never classified them), 422 Invalid where upstream's interpretStrategicMergePatchError says so.
 */

import { ApiError, errors } from '../errors.js';
import { fieldMeta, type FieldMeta } from './patch-meta.js';
import { cloneJson, goFormat, hasOwn, isObject, put, type Json, type JsonObject } from './json-value.js';

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const DELETE_PRIMITIVE_PREFIX = '$deleteFromPrimitiveList';
const SET_ORDER_PREFIX = '$setElementOrder';

// Upstream's sentinel errors (k8s.io/apimachinery/pkg/util/mergepatch), with the status interpretStrategicMergePatchError gives them.
const badPrimitiveList = () => errors.badRequest('invalid patch format of primitive list');
const badRetainKeys = () => errors.badRequest('invalid patch format of retainKeys');
const badSetOrder = () => errors.badRequest('invalid patch format of setElementOrder list');
const noListOfLists = () => new ApiError(422, 'Invalid', 'lists of lists are not supported');
const noMergeKey = (m: unknown, key: string) => errors.badRequest(`map: ${goFormat(m)} does not contain declared merge key: ${key}`);
const badPatchType = (t: unknown, m: unknown) => errors.badRequest(`unknown patch type: ${goFormat(t)} in map: ${goFormat(m)}`);

/**
 * Applies a strategic merge patch to `original` and returns the new object. `typeName` is the root type in
 * patch-meta.ts (see `rootTypeName`); undefined means "no metadata": maps merge and lists are replaced, i.e. JSON
 * merge patch semantics plus the directives. Neither input is mutated.
 */
export function strategicMergePatch(original: object, patch: object, typeName: string | undefined): object {
  if (!isObject(patch)) throw errors.badRequest(`json: cannot unmarshal ${jsonKind(patch)} into Go value of type map[string]interface {}`);
  if (!isObject(original)) throw errors.badRequest('original object must be a JSON object');
  const o = cloneJson(original, 'object') as JsonObject;
  const p = cloneJson(patch, 'patch') as JsonObject;
  try {
    return mergeMap(o, p, typeName);
  } catch (e) {
    // Depth is bounded by cloneJson; this only fires if a deployment runs with a tiny stack.
    if (e instanceof RangeError) throw errors.badRequest('patch is too deeply nested');
    throw e;
  }
}

/** How Go's json decoder names a JSON value's kind in unmarshal errors. */
export function jsonKind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return 'object';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'bool';
  return typeof v;
}

/** Merges `patch` into `original` (both owned by us, both mutated); returns the merged map. */
function mergeMap(original: JsonObject, patch: JsonObject, t: string | undefined): JsonObject {
  if (hasOwn(patch, DIRECTIVE)) {
    const d = patch[DIRECTIVE];
    if (d === 'replace') {
      delete patch[DIRECTIVE];
      return mergeMap({}, patch, t);
    }
    if (d === 'delete') return {};
    throw badPatchType(d, patch);
  }

  applyRetainKeys(original, patch);
  applySetElementOrder(original, patch, t);

  const deletions: string[] = [];
  for (const k of Object.keys(patch)) {
    if (k.startsWith(DELETE_PRIMITIVE_PREFIX)) {
      deletions.push(k);
      continue;
    }
    if (k.startsWith(SET_ORDER_PREFIX)) continue; // consumed above (only reachable for malformed keys, which threw)
    const pv = patch[k]!;
    if (pv === null) {
      delete original[k];
      continue;
    }
    const fm = fieldMeta(t, k);
    if (!hasOwn(original, k)) {
      const v = fresh(pv, fm);
      if (v !== undefined) put(original, k, v);
      continue;
    }
    const ov = original[k]!;
    if (isObject(ov) && isObject(pv)) {
      put(original, k, fm?.strategy === 'replace' ? stripDirectives(pv) : mergeMap(ov, pv, fm?.type));
    } else if (Array.isArray(ov) && Array.isArray(pv)) {
      put(original, k, isMergeList(fm) ? mergeList(ov, pv, fm!) : stripDirectives(pv));
    } else {
      const v = fresh(pv, fm);
      if (v === undefined) delete original[k];
      else put(original, k, v);
    }
  }

  for (const dk of deletions) {
    const key = extractKey(dk, DELETE_PRIMITIVE_PREFIX);
    const del = patch[dk];
    if (!Array.isArray(del)) throw badPrimitiveList();
    const drop = new Set<Json>();
    for (const x of del) {
      if (x !== null && typeof x === 'object') throw badPrimitiveList();
      drop.add(x);
    }
    const ov = hasOwn(original, key) ? original[key] : undefined;
    if (Array.isArray(ov)) put(original, key, ov.filter((x) => x === null || typeof x !== 'object' ? !drop.has(x) : true));
  }
  return original;
}

/** A list field whose tag says `merge` (possibly with retainKeys). */
function isMergeList(fm: FieldMeta | undefined): boolean {
  return fm?.strategy === 'merge' || fm?.strategy === 'merge,retainKeys';
}

/**
 * The value a patch puts where the original has nothing (or something of another shape): maps are merged into an
 * empty map and merge lists into an empty list, so directives are interpreted and nulls dropped; atomic values are
 * copied without directives. Undefined means "leave the key out" (`$patch: delete` on a missing map).
 */
function fresh(pv: Json, fm: FieldMeta | undefined): Json | undefined {
  if (isObject(pv)) {
    if (fm?.strategy === 'replace') return stripDirectives(pv);
    if (hasOwn(pv, DIRECTIVE) && pv[DIRECTIVE] === 'delete') return undefined;
    return mergeMap({}, pv, fm?.type);
  }
  if (Array.isArray(pv)) return isMergeList(fm) ? mergeList([], pv, fm!) : stripDirectives(pv);
  return pv;
}

/** Removes directive keys from a value taken wholesale (atomic lists, replace-strategy maps). Mutates our copy. */
function stripDirectives(v: Json): Json {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = stripDirectives(v[i]!);
  } else if (isObject(v)) {
    for (const k of Object.keys(v)) {
      if (k === DIRECTIVE || k === RETAIN_KEYS || k.startsWith(SET_ORDER_PREFIX) || k.startsWith(DELETE_PRIMITIVE_PREFIX)) delete v[k];
      else put(v, k, stripDirectives(v[k]!));
    }
  }
  return v;
}

/** `$deleteFromPrimitiveList/foo` → `foo`; anything not of that form is a 400, as upstream's extractKey. */
function extractKey(key: string, prefix: string): string {
  const i = key.indexOf('/');
  if (i < 0 || key.slice(0, i) !== prefix) throw prefix === DELETE_PRIMITIVE_PREFIX ? badPrimitiveList() : badSetOrder();
  return key.slice(i + 1);
}

/** `$retainKeys`: keep only the listed keys of the original; every non-null patch key must be listed. */
function applyRetainKeys(original: JsonObject, patch: JsonObject): void {
  if (!hasOwn(patch, RETAIN_KEYS)) return;
  const list = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(list)) throw badRetainKeys();
  const keep = new Set<string>();
  for (const x of list) {
    if (typeof x !== 'string') throw badRetainKeys();
    keep.add(x);
  }
  for (const k of Object.keys(patch)) {
    if (patch[k] === null || k.startsWith(DELETE_PRIMITIVE_PREFIX) || k.startsWith(SET_ORDER_PREFIX)) continue;
    if (!keep.has(k)) throw badRetainKeys();
  }
  for (const k of Object.keys(original)) if (!keep.has(k)) delete original[k];
}

// ---- list merging ----

/** Map key for a merge-key value or a scalar item; objects and arrays have none (upstream cannot compare them). */
const NIL = Symbol('nil');
type Key = string | number | boolean | typeof NIL;
function keyOf(v: Json | undefined): Key | undefined {
  if (v === null || v === undefined) return NIL;
  return typeof v === 'object' ? undefined : v;
}
/** The merge key of a list item: items that are not maps, or lack the field, key as Go's nil does. */
function itemKey(item: Json, mergeKey: string): Key | undefined {
  if (mergeKey === '') return keyOf(item);
  return isObject(item) ? keyOf(hasOwn(item, mergeKey) ? item[mergeKey] : undefined) : undefined;
}

type ElemKind = 'map' | 'scalar' | 'none';

/** All elements must share one JSON type (upstream's sliceElementType); lists of lists are refused with 422. */
function elementKind(...lists: Json[][]): ElemKind {
  let seen: string | undefined;
  for (const l of lists) {
    for (const v of l) {
      const k = v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
      if (k === 'array') throw noListOfLists();
      if (seen === undefined) seen = k;
      else if (seen !== k) throw errors.badRequest(`list element types are not identical: ${goFormat(lists)}`);
    }
  }
  return seen === undefined ? 'none' : seen === 'object' ? 'map' : 'scalar';
}

/** Merges two lists of a `patchStrategy: merge` field (upstream mergeSlice). */
function mergeList(original: Json[], patch: Json[], fm: FieldMeta): Json[] {
  const kind = elementKind(original, patch);
  if (kind === 'none') return [];
  if (kind === 'scalar') {
    const merged: Json[] = [];
    const seen = new Set<Json>();
    for (const x of [...original, ...patch]) {
      if (seen.has(x)) continue;
      seen.add(x);
      merged.push(x);
    }
    return orderMerged(merged, patch, original, '');
  }

  const mergeKey = fm.mergeKey;
  if (!mergeKey) throw errors.badRequest('cannot merge lists without merge key for type map');

  // Special elements first: `$patch: delete` removes from the original, `$patch: replace` discards it.
  const items: JsonObject[] = [];
  const toDelete = new Set<Key>();
  let replace = false;
  for (const v of patch as JsonObject[]) {
    if (!hasOwn(v, DIRECTIVE)) {
      items.push(v);
      continue;
    }
    const d = v[DIRECTIVE];
    if (d === 'delete') {
      if (!hasOwn(v, mergeKey)) throw noMergeKey(v, mergeKey);
      const k = keyOf(v[mergeKey]);
      if (k !== undefined) toDelete.add(k);
    } else if (d === 'replace') {
      replace = true;
    } else if (d === 'merge') {
      throw errors.badRequest('merging lists cannot yet be specified in the patch');
    } else {
      throw badPatchType(d, v);
    }
  }
  if (replace) return items.map((it) => mergeMap({}, it, fm.type));

  const base = toDelete.size ? original.filter((x) => !toDelete.has(itemKey(x, mergeKey) as Key)) : original.slice();
  const merged = base.slice();
  const where = new Map<Key, number>();
  merged.forEach((x, i) => {
    const k = itemKey(x, mergeKey);
    if (k !== undefined && !where.has(k)) where.set(k, i);
  });
  for (const it of items) {
    if (!hasOwn(it, mergeKey)) throw noMergeKey(it, mergeKey);
    const k = keyOf(it[mergeKey]);
    if (k === undefined) throw errors.badRequest(`merge key ${mergeKey} of ${goFormat(it)} must be a scalar`);
    const i = where.get(k);
    if (i !== undefined && isObject(merged[i])) {
      merged[i] = mergeMap(merged[i] as JsonObject, it, fm.type);
    } else {
      where.set(k, merged.length);
      merged.push(mergeMap({}, it, fm.type));
    }
  }
  return orderMerged(merged, items, base, mergeKey);
}

/**
 * Upstream's ordering of a merged list: items present in `order` (the patch list, or `$setElementOrder`) sorted by
 * their position there, the others ("server-only") by their position in `serverOrder`, then the two interleaved: a
 * server-only item goes first only while it sits before the next patch item in `serverOrder`.
 */
function orderMerged(merged: Json[], order: Json[], serverOrder: Json[], mergeKey: string): Json[] {
  const orderIdx = firstIndex(order, mergeKey);
  const serverIdx = firstIndex(serverOrder, mergeKey);
  const idxIn = (m: Map<Key, number>, item: Json): number => {
    const k = itemKey(item, mergeKey);
    const i = k === undefined ? undefined : m.get(k);
    return i === undefined ? -1 : i;
  };
  const patchItems: Json[] = [];
  const serverOnly: Json[] = [];
  for (const x of merged) (idxIn(orderIdx, x) >= 0 ? patchItems : serverOnly).push(x);
  const byIndex = (m: Map<Key, number>) => (a: Json, b: Json) => {
    const ia = idxIn(m, a);
    const ib = idxIn(m, b);
    // Items missing from the order list (only possible for malformed input) go last, keeping their order.
    return (ia < 0 ? Infinity : ia) - (ib < 0 ? Infinity : ib) || 0;
  };
  patchItems.sort(byIndex(orderIdx)); // Array.prototype.sort is stable
  serverOnly.sort(byIndex(serverIdx));

  const out: Json[] = [];
  let i = 0;
  let j = 0;
  while (i < serverOnly.length && j < patchItems.length) {
    const li = idxIn(serverIdx, serverOnly[i]!);
    const ri = idxIn(serverIdx, patchItems[j]!);
    if (li >= 0 && ri >= 0 && li < ri) out.push(serverOnly[i++]!);
    else out.push(patchItems[j++]!);
  }
  while (i < serverOnly.length) out.push(serverOnly[i++]!);
  while (j < patchItems.length) out.push(patchItems[j++]!);
  return out;
}

/** Merge-key value (or scalar) → its first position in `list`. */
function firstIndex(list: Json[], mergeKey: string): Map<Key, number> {
  const m = new Map<Key, number>();
  list.forEach((x, i) => {
    const k = itemKey(x, mergeKey);
    if (k !== undefined && !m.has(k)) m.set(k, i);
  });
  return m;
}

// ---- $setElementOrder ----

/** Processes every `$setElementOrder/<field>` of `patch` together with `<field>` (upstream mergePatchIntoOriginal). */
function applySetElementOrder(original: JsonObject, patch: JsonObject, t: string | undefined): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(SET_ORDER_PREFIX)) continue;
    const order = patch[key];
    delete patch[key];
    const field = extractKey(key, SET_ORDER_PREFIX);
    if (!Array.isArray(order)) throw badSetOrder();

    const fm = fieldMeta(t, field);
    const ov = hasOwn(original, field) && Array.isArray(original[field]) ? (original[field] as Json[]) : undefined;
    const pv = hasOwn(patch, field) && Array.isArray(patch[field]) ? (patch[field] as Json[]) : undefined;
    if (!isMergeList(fm)) continue; // ordering only means something for merge lists; the field merges normally
    if (ov === undefined && pv === undefined) continue;
    const mergeKey = fm!.mergeKey ?? '';
    if (pv) validateAgainstOrder(pv, order, mergeKey);
    if (mergeKey) for (const x of order) if (!isObject(x) || !hasOwn(x, mergeKey)) throw noMergeKey(x, mergeKey);

    let merged: Json[];
    if (ov && pv) merged = mergeList(ov, pv, fm!);
    else if (pv) merged = mergeList([], pv, fm!);
    else merged = ov!;
    if (pv) delete patch[field];
    put(original, field, orderMerged(merged, order, ov ?? [], mergeKey));
  }
}

/**
 * The patch list must be a subsequence of `$setElementOrder` (ignoring `$patch` items): upstream's
 * validatePatchWithSetOrderList.
 */
function validateAgainstOrder(patchList: Json[], order: Json[], mergeKey: string): void {
  if (patchList.length === 0 || order.length === 0) return;
  const items = mergeKey ? patchList.filter((x) => !(isObject(x) && x[DIRECTIVE] === 'delete')) : patchList;
  let p = 0;
  let s = 0;
  while (p < items.length && s < order.length) {
    const item = items[p]!;
    if (isObject(item) && hasOwn(item, DIRECTIVE)) {
      p++;
      continue;
    }
    let equal: boolean;
    if (mergeKey) {
      const o = order[s]!;
      if (!isObject(item) || !hasOwn(item, mergeKey)) throw noMergeKey(item, mergeKey);
      if (!isObject(o) || !hasOwn(o, mergeKey)) throw noMergeKey(o, mergeKey);
      const a = keyOf(item[mergeKey]);
      equal = a !== undefined && a === keyOf(o[mergeKey]);
    } else {
      const a = keyOf(item);
      equal = a !== undefined && a === keyOf(order[s]!);
    }
    if (equal) p++;
    s++;
  }
  if (p < items.length) {
    throw errors.badRequest(`The order in patch list:\n${goFormat(patchList)}\n doesn't match ${SET_ORDER_PREFIX} list:\n${goFormat(order)}\n`);
  }
}
