/**
 * pods/binding helpers. `applyBinding` is the object-level mutation (the reference behaviour); `spliceBinding` makes
 * the same change directly in the stored JSON text (no parse/stringify of the whole pod) for the common case of an
 * unbound pod whose stored text has the layout `Registry.encode` writes. Both give byte-identical stored values
 * (binding.test.ts compares them); anything unusual makes `spliceBinding` answer undefined and the caller falls back.
 */
import type { KObject } from '../../api/errors.js';
import { apiVersionOf, type ResourceInfo } from '../../api/resources.js';
import { storageVersion } from '../../api/conversion.js';

const heads = new WeakMap<ResourceInfo, string | null>();

/**
 * The text a stored value of `info` starts with when reading it back needs no conversion (served version = storage
 * version, `encode`'s field order): `{"apiVersion":"v1","kind":"Pod","metadata":`; null otherwise.
 */
export function storedHead(info: ResourceInfo): string | null {
  let h = heads.get(info);
  if (h === undefined) {
    const sv = storageVersion(info);
    h = sv === apiVersionOf(info) ? `{"apiVersion":${JSON.stringify(sv)},"kind":${JSON.stringify(info.kind)},"metadata":` : null;
    heads.set(info, h);
  }
  return h;
}

/** The Status a successful binding answers (serialized once). */
export const BINDING_SUCCESS = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 };
export const BINDING_SUCCESS_JSON = JSON.stringify(BINDING_SUCCESS);

/**
 * Sets spec.nodeName, the PodScheduled=True condition and the binding's annotations on `next` (in place, as the
 * binding handler always did). The caller has checked that the pod is unbound and not being deleted.
 */
export function applyBinding(next: KObject, nodeName: string, annotations: Record<string, string> | undefined, now: string): KObject {
  next.spec.nodeName = nodeName;
  const conds: Array<Record<string, unknown>> = next.status?.conditions ?? [];
  const idx = conds.findIndex((c) => c.type === 'PodScheduled');
  const cond = { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now };
  if (idx >= 0) conds[idx] = cond; else conds.push(cond);
  next.status = { ...(next.status ?? {}), conditions: conds };
  if (annotations) next.metadata.annotations = { ...(next.metadata.annotations ?? {}), ...annotations };
  return next;
}

interface Member {
  /** The key's raw text between the quotes (escapes kept). */
  key: string;
  start: number;
  /** One past the value's last character. */
  end: number;
}

/** Index of the closing quote of the string whose opening quote is at `i`, or -1. */
function stringEnd(s: string, i: number): number {
  let j = i;
  for (;;) {
    j = s.indexOf('"', j + 1);
    if (j < 0) return -1;
    let bs = 0;
    for (let k = j - 1; s.charCodeAt(k) === 92; k--) bs++;
    if ((bs & 1) === 0) return j;
  }
}

/** One past the end of the JSON value starting at `i` (no whitespace: stored text is compact), or -1. */
function valueEnd(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c === 34) { const e = stringEnd(s, i); return e < 0 ? -1 : e + 1; }
  if (c === 123 || c === 91) {
    let depth = 0;
    for (let j = i; j < s.length; j++) {
      const d = s.charCodeAt(j);
      if (d === 34) { j = stringEnd(s, j); if (j < 0) return -1; } else if (d === 123 || d === 91) depth++;
      else if (d === 125 || d === 93) { if (--depth === 0) return j + 1; }
    }
    return -1;
  }
  let j = i;
  for (; j < s.length; j++) {
    const d = s.charCodeAt(j);
    if (d === 44 || d === 125 || d === 93) break;
  }
  return j > i ? j : -1;
}

/** The members of the compact JSON object whose `{` is at `open`, and the index of its `}`; undefined if malformed. */
function members(s: string, open: number): { list: Member[]; close: number } | undefined {
  if (s.charCodeAt(open) !== 123) return undefined;
  if (s.charCodeAt(open + 1) === 125) return { list: [], close: open + 1 };
  return membersFrom(s, open + 1, []);
}

/** Continues an object's members from `i` (the opening quote of a key), appending to `list`. */
function membersFrom(s: string, i: number, list: Member[]): { list: Member[]; close: number } | undefined {
  for (;;) {
    if (s.charCodeAt(i) !== 34) return undefined;
    const ke = stringEnd(s, i);
    if (ke < 0 || s.charCodeAt(ke + 1) !== 58) return undefined;
    const start = ke + 2;
    const end = valueEnd(s, start);
    if (end < 0) return undefined;
    list.push({ key: s.slice(i + 1, ke), start, end });
    const c = s.charCodeAt(end);
    if (c === 125) return { list, close: end };
    if (c !== 44) return undefined;
    i = end + 1;
  }
}

/** Keys with escapes (never written by JSON.stringify for field names we look for) could decode to those names. */
const hasEscapedKey = (l: Member[]): boolean => l.some((m) => m.key.includes('\\'));

const find = (l: Member[], k: string): Member | undefined => {
  for (const m of l) if (m.key === k) return m;
  return undefined;
};

/**
 * `stored` (a pod's stored text as `Registry.encode` wrote it, starting with `head` = `storedHead(info)`) with the
 * binding applied exactly as `applyBinding` followed by `encode` would write it; undefined when the pod is bound,
 * being deleted, fails the UID precondition, already has conditions, has duplicate top-level keys, or is in any shape
 * this scanner does not handle (the caller then takes the object path, which also produces the errors).
 */
export function spliceBinding(stored: string, head: string | null, nodeName: string, uid: string | undefined, now: string): string | undefined {
  if (head === null || !stored.startsWith(head)) return undefined;
  const meta = members(stored, head.length);
  if (!meta || hasEscapedKey(meta.list) || find(meta.list, 'deletionTimestamp')) return undefined;
  if (uid) {
    const u = find(meta.list, 'uid');
    if (!u || stored.slice(u.start, u.end) !== JSON.stringify(uid)) return undefined;
  }
  // The members after metadata (spec, status, …), up to the end of the text; spec and status key by key.
  let spec: { list: Member[]; close: number } | undefined;
  let status: { list: Member[]; close: number } | undefined;
  const seen = new Set<string>(['apiVersion', 'kind', 'metadata']);
  let i = meta.close + 1;
  while (stored.charCodeAt(i) === 44) {
    const ks = i + 1;
    if (stored.charCodeAt(ks) !== 34) return undefined;
    const ke = stringEnd(stored, ks);
    if (ke < 0 || stored.charCodeAt(ke + 1) !== 58) return undefined;
    const key = stored.slice(ks + 1, ke);
    // Duplicates, or an escaped key that could decode to any name: the object path.
    if (seen.has(key) || key.includes('\\')) return undefined;
    seen.add(key);
    const start = ke + 2;
    let end: number;
    if (key === 'spec' || key === 'status') {
      const o = members(stored, start);
      if (!o || hasEscapedKey(o.list)) return undefined;
      if (key === 'spec') spec = o; else status = o;
      end = o.close + 1;
    } else {
      end = valueEnd(stored, start);
      if (end < 0) return undefined;
    }
    i = end;
  }
  if (i !== stored.length - 1 || stored.charCodeAt(i) !== 125) return undefined;
  if (!spec || find(spec.list, 'nodeName')) return undefined;
  if (status && find(status.list, 'conditions')) return undefined;
  const cond = `{"type":"PodScheduled","status":"True","lastProbeTime":null,"lastTransitionTime":${JSON.stringify(now)}}`;
  // Appended as the last member of spec and of status (or as a new last top-level status), as applyBinding does.
  const inserts: Array<[number, string]> = [[spec.close, `${spec.list.length ? ',' : ''}"nodeName":${JSON.stringify(nodeName)}`]];
  if (status) inserts.push([status.close, `${status.list.length ? ',' : ''}"conditions":[${cond}]`]);
  else inserts.push([i, `,"status":{"conditions":[${cond}]}`]);
  if (inserts[1][0] < inserts[0][0]) inserts.reverse();
  return stored.slice(0, inserts[0][0]) + inserts[0][1] + stored.slice(inserts[0][0], inserts[1][0]) + inserts[1][1] + stored.slice(inserts[1][0]);
}
