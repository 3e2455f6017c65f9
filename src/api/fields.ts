/**
 * Field selectors (`?fieldSelector=`, `kubectl --field-selector`), as `k8s.io/apimachinery/pkg/fields` parses them
 * and as kube-apiserver restricts them per kind: each kind accepts only the field labels its scheme registers
 * (pkg/apis/<group>/<version>/conversion.go) and reads their values the way its registry strategy's
 * `ToSelectableFields` does. Unsupported labels fail with the exact upstream message, so kubectl prints the same
 * error it would for a real cluster.
 */

import { errors } from './errors.js';
import type { KObject } from './errors.js';
import type { ResourceInfo } from './resources.js';

/** One `field=value` / `field!=value` term; `==` parses to `=`. Values are unescaped. */
export interface FieldTerm {
  readonly field: string;
  readonly op: '=' | '!=';
  readonly value: string;
}

/** The AND of its terms, in upstream's order (terms sorted by their source text). Empty matches everything. */
export interface FieldSelector {
  readonly terms: readonly FieldTerm[];
}

const EVERYTHING: FieldSelector = Object.freeze({ terms: Object.freeze([]) as readonly FieldTerm[] });

/** True when the selector does not restrict anything. */
export function isEmptyFieldSelector(sel: FieldSelector): boolean {
  return sel.terms.length === 0;
}

/** Splits on unescaped commas; the backslash stays in the term (upstream `splitTerms`). */
function splitTerms(s: string): string[] {
  const terms: string[] = [];
  let start = 0;
  let inSlash = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inSlash) inSlash = false;
    else if (c === '\\') inSlash = true;
    else if (c === ',') {
      terms.push(s.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(s.slice(start));
  return terms;
}

/** First operator occurrence wins; `!=` and `==` are tried before `=` at each position (upstream `splitTerm`). */
function splitTerm(term: string): { lhs: string; op: '!=' | '==' | '='; rhs: string } | undefined {
  for (let i = 0; i < term.length; i++) {
    const c = term[i];
    if (c === '!' && term[i + 1] === '=') return { lhs: term.slice(0, i), op: '!=', rhs: term.slice(i + 2) };
    if (c === '=') {
      if (term[i + 1] === '=') return { lhs: term.slice(0, i), op: '==', rhs: term.slice(i + 2) };
      return { lhs: term.slice(0, i), op: '=', rhs: term.slice(i + 1) };
    }
  }
  return undefined;
}

/** Upstream `UnescapeValue`: `\\`, `\,` and `\=` are the only escapes; bare `,`/`=` are errors. */
function unescapeValue(s: string): string {
  if (!/[\\,=]/.test(s)) return s;
  let out = '';
  let inSlash = false;
  for (const c of s) {
    if (inSlash) {
      if (c === '\\' || c === ',' || c === '=') out += c;
      else throw errors.badRequest(`invalid field selector: invalid escape sequence: \\${c}`);
      inSlash = false;
      continue;
    }
    if (c === '\\') inSlash = true;
    else if (c === ',' || c === '=') throw errors.badRequest(`invalid field selector: unescaped character in value: ${c.codePointAt(0)}`);
    else out += c;
  }
  if (inSlash) throw errors.badRequest('invalid field selector: invalid escape sequence: \\');
  return out;
}

/** Upstream `EscapeValue`: the inverse of the unescaping the parser applies. */
export function escapeFieldValue(s: string): string {
  return s.replace(/[\\,=]/g, (c) => '\\' + c);
}

/**
 * Parses `a=b,c!=d` (also `==`), with `\,` `\=` `\\` escapes in values and empty values allowed. Throws ApiError
 * 400 with upstream's message (`invalid selector: '...'; can't understand '...'`) on malformed input.
 */
export function parseFieldSelector(s: string): FieldSelector {
  if (s === '') return EVERYTHING;
  const parts = splitTerms(s).sort();
  const terms: FieldTerm[] = [];
  for (const part of parts) {
    if (part === '') continue;
    const t = splitTerm(part);
    if (!t) throw errors.badRequest(`invalid selector: '${s}'; can't understand '${part}'`);
    terms.push({ field: t.lhs, op: t.op === '!=' ? '!=' : '=', value: unescapeValue(t.rhs) });
  }
  return terms.length ? { terms } : EVERYTHING;
}

/** Canonical text (upstream `Selector.String()`), values re-escaped. */
export function formatFieldSelector(sel: FieldSelector): string {
  return sel.terms.map((t) => `${t.field}${t.op}${escapeFieldValue(t.value)}`).join(',');
}

/**
 * The name a selector pins with `metadata.name=X` (or `==`), if any: the apiserver turns `kubectl get NAME -w`
 * into a list+watch with that selector and can serve it from a single key.
 */
export function requiresExactName(sel: FieldSelector): string | undefined {
  return requiresExactField(sel, 'metadata.name');
}

/** Value of the first `field=value` term for `field` (upstream `RequiresExactMatch`). */
export function requiresExactField(sel: FieldSelector, field: string): string | undefined {
  for (const t of sel.terms) if (t.field === field && t.op === '=') return t.value;
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Per-kind field labels

type Getter = (obj: KObject) => string;

const str = (v: unknown): string => (typeof v === 'string' ? v : v == null ? '' : String(v));
const name: Getter = (o) => str(o.metadata?.name);
const namespace: Getter = (o) => str(o.metadata?.namespace);

/** The conversion a kind registers: accepted labels (with any rename) and its rejection message. */
interface KindFields {
  getters: Record<string, Getter>;
  /** label in the request → label in the field set (spec.host → spec.nodeName, events.k8s.io → core names). */
  aliases?: Record<string, string>;
  reject: (label: string) => string;
}

const notSupported = (label: string) => `field label not supported: ${label}`;
const defaultReject = (label: string) => `"${label}" is not a known field selector: only "metadata.name", "metadata.namespace"`;

const META: Record<string, Getter> = { 'metadata.name': name, 'metadata.namespace': namespace };

const podIP: Getter = (o) => {
  const ips = o.status?.podIPs;
  if (Array.isArray(ips) && ips.length > 0) return str(ips[0]?.ip);
  return str(o.status?.podIP);
};

/** core/v1 Event field set, reading either the core or the events.k8s.io shape (they share storage). */
const ref = (o: KObject) => o.involvedObject ?? o.regarding ?? {};
const EVENT_GETTERS: Record<string, Getter> = {
  ...META,
  'involvedObject.kind': (o) => str(ref(o).kind),
  'involvedObject.namespace': (o) => str(ref(o).namespace),
  'involvedObject.name': (o) => str(ref(o).name),
  'involvedObject.uid': (o) => str(ref(o).uid),
  'involvedObject.apiVersion': (o) => str(ref(o).apiVersion),
  'involvedObject.resourceVersion': (o) => str(ref(o).resourceVersion),
  'involvedObject.fieldPath': (o) => str(ref(o).fieldPath),
  reason: (o) => str(o.reason),
  reportingComponent: (o) => str(o.reportingController ?? o.reportingComponent),
  source: (o) => str((o.source ?? o.deprecatedSource)?.component) || str(o.reportingController),
  type: (o) => str(o.type),
};

const KINDS: Record<string, KindFields> = {
  '/Pod': {
    getters: {
      ...META,
      'spec.nodeName': (o) => str(o.spec?.nodeName),
      'spec.restartPolicy': (o) => str(o.spec?.restartPolicy),
      'spec.schedulerName': (o) => str(o.spec?.schedulerName),
      'spec.serviceAccountName': (o) => str(o.spec?.serviceAccountName),
      'spec.hostNetwork': (o) => (o.spec?.hostNetwork === true ? 'true' : 'false'),
      'status.phase': (o) => str(o.status?.phase),
      'status.podIP': podIP,
      // Accepted by the conversion but absent from upstream's field set, so it always reads as "".
      'status.podIPs': () => '',
      'status.nominatedNodeName': (o) => str(o.status?.nominatedNodeName),
    },
    aliases: { 'spec.host': 'spec.nodeName' },
    reject: notSupported,
  },
  '/Node': {
    getters: { 'metadata.name': name, 'spec.unschedulable': (o) => (o.spec?.unschedulable === true ? 'true' : 'false') },
    reject: notSupported,
  },
  '/Namespace': {
    getters: { 'metadata.name': name, 'status.phase': (o) => str(o.status?.phase) },
    reject: notSupported,
  },
  '/Secret': { getters: { ...META, type: (o) => str(o.type) }, reject: notSupported },
  '/Service': {
    getters: { ...META, 'spec.clusterIP': (o) => str(o.spec?.clusterIP), 'spec.type': (o) => str(o.spec?.type) },
    reject: notSupported,
  },
  '/Event': { getters: EVENT_GETTERS, reject: notSupported },
  'events.k8s.io/Event': {
    getters: EVENT_GETTERS,
    aliases: {
      'regarding.kind': 'involvedObject.kind',
      'regarding.namespace': 'involvedObject.namespace',
      'regarding.name': 'involvedObject.name',
      'regarding.uid': 'involvedObject.uid',
      'regarding.apiVersion': 'involvedObject.apiVersion',
      'regarding.resourceVersion': 'involvedObject.resourceVersion',
      'regarding.fieldPath': 'involvedObject.fieldPath',
      reportingController: 'reportingComponent',
    },
    // events.k8s.io accepts only its own names (plus reason, type, metadata.*), not the core ones.
    reject: notSupported,
  },
  'batch/Job': {
    getters: { ...META, 'status.successful': (o) => String(Number(o.status?.succeeded ?? 0) | 0) },
    reject: (label) => `field label "${label}" not supported for batchv1.Job`,
  },
};

const EVENTS_V1_ALLOWED = new Set(['metadata.name', 'metadata.namespace', 'reason', 'type', ...Object.keys(KINDS['events.k8s.io/Event']!.aliases!)]);

const DEFAULT_KIND: KindFields = { getters: META, reject: defaultReject };

function kindFields(info: ResourceInfo): KindFields {
  return KINDS[`${info.group}/${info.kind}`] ?? DEFAULT_KIND;
}

/** The field labels a kind accepts in field selectors, as upstream registers them (for docs and tests). */
export function supportedFieldLabels(info: ResourceInfo): string[] {
  const k = kindFields(info);
  if (info.group === 'events.k8s.io') return [...EVENTS_V1_ALLOWED].sort();
  return [...Object.keys(k.getters), ...Object.keys(k.aliases ?? {})].sort();
}

function resolve(info: ResourceInfo, label: string): Getter {
  const k = kindFields(info);
  if (info.group === 'events.k8s.io' && !EVENTS_V1_ALLOWED.has(label)) throw errors.badRequest(k.reject(label));
  const target = k.aliases?.[label] ?? label;
  const g = Object.prototype.hasOwnProperty.call(k.getters, target) ? k.getters[target] : undefined;
  if (!g) throw errors.badRequest(k.reject(label));
  return g;
}

/**
 * Compiles a selector for one kind into a predicate. Throws ApiError 400 at compile time for field labels the kind
 * does not support (first offending term in selector order, like upstream's Transform).
 */
export function fieldSelectorMatcher(info: ResourceInfo, sel: FieldSelector): (obj: KObject) => boolean {
  const n = sel.terms.length;
  if (n === 0) return () => true;
  const getters: Getter[] = new Array(n);
  const values: string[] = new Array(n);
  const negate: boolean[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const t = sel.terms[i]!;
    getters[i] = resolve(info, t.field);
    values[i] = t.value;
    negate[i] = t.op === '!=';
  }
  if (n === 1) {
    const g = getters[0]!;
    const v = values[0]!;
    return negate[0] ? (o) => g(o) !== v : (o) => g(o) === v;
  }
  return (obj) => {
    for (let i = 0; i < n; i++) if ((getters[i]!(obj) === values[i]) === negate[i]) return false;
    return true;
  };
}

/** The value an object exposes for a (supported) field label, e.g. for indexing by `spec.nodeName`. */
export function fieldValue(info: ResourceInfo, label: string, obj: KObject): string {
  return resolve(info, label)(obj);
}
