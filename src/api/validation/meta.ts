/**
 * ObjectMeta, labels, annotations, label selectors, owner references and finalizers, validated as apimachinery's
 * `pkg/api/validation/objectmeta.go` and `pkg/apis/meta/v1/validation` do, with the same field paths and messages.
 */

import type { StatusCause } from '../errors.js';
import {
  type Errs, type Rec, arr, bool, child, forbidden, immutable, index, int, invalid, isMissing, isObj, msgs, nonNegative, obj, objList, required, str, strList, strMap, tooLong,
} from './context.js';
import { type NameFn, labelValueErrors, nameIsDNSLabel, qualifiedNameErrors } from './names.js';

/** Upstream's `TotalAnnotationSizeLimitB`. */
export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

const byteLen = (s: string): number => Buffer.byteLength(s, 'utf8');

/** `ValidateLabelName`: a qualified name, reported at the labels path itself as upstream does. */
export function validateLabelName(name: string, path: string, errs: Errs = []): StatusCause[] {
  msgs(errs, path, name, qualifiedNameErrors(name));
  return errs;
}

/** `ValidateLabels`: keys are qualified names, values ≤ 63 characters of `[A-Za-z0-9_.-]`, or empty. */
export function validateLabels(labels: unknown, path: string, errs: Errs = []): StatusCause[] {
  const m = strMap(labels, path, errs);
  if (!m) return errs;
  for (const [k, v] of Object.entries(m)) {
    validateLabelName(k, path, errs);
    msgs(errs, path, v, labelValueErrors(v));
  }
  return errs;
}

/** `ValidateAnnotations`: qualified (lower-cased) keys and a 256 KiB total size. */
export function validateAnnotations(annotations: unknown, path: string, errs: Errs = []): StatusCause[] {
  const m = strMap(annotations, path, errs);
  if (!m) return errs;
  let total = 0;
  for (const [k, v] of Object.entries(m)) {
    msgs(errs, path, k, qualifiedNameErrors(k.toLowerCase()));
    total += byteLen(k) + byteLen(v);
  }
  if (total > TOTAL_ANNOTATION_SIZE_LIMIT) errs.push(tooLong(path, TOTAL_ANNOTATION_SIZE_LIMIT));
  return errs;
}

const SELECTOR_OPS = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

/**
 * `ValidateLabelSelector` for a `metav1.LabelSelector` object (`matchLabels` + `matchExpressions`).
 * `allowInvalidLabelValue` mirrors `AllowInvalidLabelValueInSelector`.
 */
export function validateLabelSelectorObject(sel: unknown, path: string, errs: Errs = [], allowInvalidLabelValue = false): StatusCause[] {
  const s = obj(sel, path, errs);
  if (!s) return errs;
  validateLabels(s.matchLabels, child(path, 'matchLabels'), errs);
  for (const [expr, i] of objList(s.matchExpressions, child(path, 'matchExpressions'), errs)) {
    const p = index(child(path, 'matchExpressions'), i);
    const op = str(expr.operator, child(p, 'operator'), errs) ?? '';
    const values = strList(expr.values, child(p, 'values'), errs);
    if (op === 'In' || op === 'NotIn') {
      if (values.length === 0) errs.push(required(child(p, 'values'), "must be specified when `operator` is 'In' or 'NotIn'"));
    } else if (op === 'Exists' || op === 'DoesNotExist') {
      if (values.length > 0) errs.push(forbidden(child(p, 'values'), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
    } else {
      errs.push(invalid(child(p, 'operator'), op, 'not a valid selector operator'));
    }
    const k = str(expr.key, child(p, 'key'), errs) ?? '';
    validateLabelName(k, child(p, 'key'), errs);
    if (!allowInvalidLabelValue) values.forEach((v, j) => msgs(errs, index(child(p, 'values'), j), v, labelValueErrors(v)));
  }
  return errs;
}

/** True when the selector object is structurally usable (what `LabelSelectorAsSelector` would accept). */
export function isUsableSelector(sel: unknown): boolean {
  if (isMissing(sel)) return true;
  if (!isObj(sel)) return false;
  const errs: Errs = [];
  validateLabelSelectorObject(sel, 's', errs);
  return errs.length === 0;
}

/** True when the selector selects nothing-in-particular (no matchLabels and no matchExpressions). */
export function isEmptySelector(sel: unknown): boolean {
  if (!isObj(sel)) return true;
  const ml = isObj(sel.matchLabels) ? Object.keys(sel.matchLabels).length : 0;
  const me = Array.isArray(sel.matchExpressions) ? sel.matchExpressions.length : 0;
  return ml + me === 0;
}

/**
 * `metav1.LabelSelectorAsSelector(sel).Matches(labels)`: a null selector matches nothing, an empty one everything.
 * Malformed selectors match nothing.
 */
export function labelSelectorMatches(sel: unknown, labels: unknown): boolean {
  if (isMissing(sel)) return false;
  if (!isObj(sel)) return false;
  const l: Record<string, unknown> = isObj(labels) ? labels : {};
  const has = (k: string): boolean => Object.prototype.hasOwnProperty.call(l, k) && typeof l[k] === 'string';
  if (!isMissing(sel.matchLabels)) {
    if (!isObj(sel.matchLabels)) return false;
    for (const [k, v] of Object.entries(sel.matchLabels)) if (!has(k) || l[k] !== v) return false;
  }
  if (!isMissing(sel.matchExpressions)) {
    if (!Array.isArray(sel.matchExpressions)) return false;
    for (const e of sel.matchExpressions) {
      if (!isObj(e) || typeof e.key !== 'string') return false;
      const values = Array.isArray(e.values) ? e.values : [];
      switch (e.operator) {
        case 'In': if (!has(e.key) || !values.includes(l[e.key])) return false; break;
        case 'NotIn': if (has(e.key) && values.includes(l[e.key])) return false; break;
        case 'Exists': if (!has(e.key)) return false; break;
        case 'DoesNotExist': if (has(e.key)) return false; break;
        default: return false;
      }
    }
  }
  return true;
}

/** `ValidateOwnerReferences`: required fields and at most one controller reference. */
export function validateOwnerReferences(refs: unknown, path: string, errs: Errs = []): StatusCause[] {
  const controllers: string[] = [];
  for (const [ref, i] of objList(refs, path, errs)) {
    const p = index(path, i);
    const apiVersion = str(ref.apiVersion, child(p, 'apiVersion'), errs) ?? '';
    const kind = str(ref.kind, child(p, 'kind'), errs) ?? '';
    const name = str(ref.name, child(p, 'name'), errs) ?? '';
    const uid = str(ref.uid, child(p, 'uid'), errs) ?? '';
    const slash = apiVersion.indexOf('/');
    const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
    if (version === '') errs.push(invalid(child(p, 'apiVersion'), apiVersion, 'version must not be empty'));
    if (kind === '') errs.push(invalid(child(p, 'kind'), kind, 'kind must not be empty'));
    if (name === '') errs.push(invalid(child(p, 'name'), name, 'name must not be empty'));
    if (uid === '') errs.push(invalid(child(p, 'uid'), uid, 'uid must not be empty'));
    if (bool(ref.controller, child(p, 'controller'), errs) === true) controllers.push(`${kind}/${name}`);
    bool(ref.blockOwnerDeletion, child(p, 'blockOwnerDeletion'), errs);
  }
  if (controllers.length > 1) {
    errs.push(invalid(path, refs, `Only one reference can have Controller set to true. Found "true" in references for ${controllers.join(' and ')}`));
  }
  return errs;
}

const STANDARD_FINALIZERS = ['kubernetes', 'orphan', 'foregroundDeletion'];

/** `ValidateFinalizerName` (core flavour): qualified, and either standard or domain-prefixed. */
export function validateFinalizerName(name: string, path: string, errs: Errs = []): StatusCause[] {
  const before = errs.length;
  msgs(errs, path, name, qualifiedNameErrors(name));
  if (errs.length === before && !name.includes('/') && !STANDARD_FINALIZERS.includes(name)) {
    errs.push(invalid(path, name, 'name is neither a standard finalizer name nor is it fully qualified'));
  }
  return errs;
}

/** `ValidateFinalizers`: qualified names, no orphan + foregroundDeletion together. */
export function validateFinalizers(finalizers: unknown, path: string, errs: Errs = []): StatusCause[] {
  const list = strList(finalizers, path, errs);
  for (const f of list) msgs(errs, path, f, qualifiedNameErrors(f));
  if (list.includes('orphan') && list.includes('foregroundDeletion')) {
    errs.push(invalid(path, list, 'finalizer orphan and foregroundDeletion cannot be both set'));
  }
  return errs;
}

/**
 * `ValidateObjectMeta`: name (or generateName) checked with the kind's name function, namespace required for
 * namespaced kinds and forbidden otherwise, labels, annotations, owner references and finalizers.
 */
export function validateObjectMeta(meta: unknown, namespaced: boolean, nameFn: NameFn, path = 'metadata', errs: Errs = []): StatusCause[] {
  if (isMissing(meta)) {
    errs.push(required(child(path, 'name'), 'name or generateName is required'));
    if (namespaced) errs.push(required(child(path, 'namespace')));
    return errs;
  }
  const m = obj(meta, path, errs);
  if (!m) return errs;
  const generateName = str(m.generateName, child(path, 'generateName'), errs) ?? '';
  if (generateName) msgs(errs, child(path, 'generateName'), generateName, nameFn(generateName, true));
  const name = str(m.name, child(path, 'name'), errs) ?? '';
  if (name === '') errs.push(required(child(path, 'name'), 'name or generateName is required'));
  else msgs(errs, child(path, 'name'), name, nameFn(name, false));
  const ns = str(m.namespace, child(path, 'namespace'), errs) ?? '';
  if (namespaced) {
    if (ns === '') errs.push(required(child(path, 'namespace')));
    else msgs(errs, child(path, 'namespace'), ns, nameIsDNSLabel(ns, false));
  } else if (ns !== '') {
    errs.push(forbidden(child(path, 'namespace'), 'not allowed on this type'));
  }
  nonNegative(int(m.generation, child(path, 'generation'), errs), child(path, 'generation'), errs);
  validateLabels(m.labels, child(path, 'labels'), errs);
  validateAnnotations(m.annotations, child(path, 'annotations'), errs);
  validateOwnerReferences(m.ownerReferences, child(path, 'ownerReferences'), errs);
  validateFinalizers(m.finalizers, child(path, 'finalizers'), errs);
  arr(m.managedFields, child(path, 'managedFields'), errs);
  str(m.uid, child(path, 'uid'), errs);
  str(m.resourceVersion, child(path, 'resourceVersion'), errs);
  return errs;
}

/**
 * `ValidateObjectMetaUpdate`: name, namespace, uid, creationTimestamp, deletionTimestamp and
 * deletionGracePeriodSeconds are immutable, generation may not go down, no new finalizers once deleting.
 * Upstream also rejects an empty resourceVersion, but its store fills it in first for unconditional updates, so
 * that check is left to the caller.
 */
export function validateObjectMetaUpdate(meta: unknown, oldMeta: unknown, path = 'metadata', errs: Errs = []): StatusCause[] {
  const m: Rec = isObj(meta) ? meta : {};
  const o: Rec = isObj(oldMeta) ? oldMeta : {};
  if (!isMissing(o.deletionTimestamp) && Array.isArray(m.finalizers)) {
    const old = Array.isArray(o.finalizers) ? o.finalizers : [];
    const added = m.finalizers.filter((f) => !old.includes(f));
    if (added.length) errs.push(forbidden(child(path, 'finalizers'), `no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`));
  }
  if (typeof m.generation === 'number' && typeof o.generation === 'number' && m.generation < o.generation) {
    errs.push(invalid(child(path, 'generation'), m.generation, 'must not be decremented'));
  }
  for (const k of ['name', 'namespace', 'uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds']) {
    // An update body that omits server-set fields leaves them unchanged (the store copies them over).
    if (isMissing(m[k]) && (k === 'uid' || k === 'creationTimestamp' || k === 'deletionTimestamp' || k === 'deletionGracePeriodSeconds')) continue;
    immutable(m[k], o[k], child(path, k), errs);
  }
  return errs;
}
