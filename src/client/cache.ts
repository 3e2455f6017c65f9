/**
 * The informer's local cache (client-go `cache.Indexer`/`ThreadSafeStore` and the generated listers): objects in a
 * `Map` keyed `namespace/name` (client-go `MetaNamespaceKeyFunc`), plus indexes — `namespace` and `labels` built in,
 * custom ones added by name (client-go `Indexers`). Readers get the cached objects themselves: like client-go's,
 * they are shared and must be treated as read-only (copy before changing).
 */

import { matches, parseLabelSelector, sameLabelSet, type LabelSelector } from '../api/labels.js';

/** Anything with Kubernetes object metadata. */
export interface MetaObject {
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    uid?: string;
    ownerReferences?: readonly unknown[];
  };
}

/** Computes the index values of an object (client-go `IndexFunc`). */
export type IndexFunc<T> = (obj: T) => string[];

/** Name of the built-in namespace index (client-go `cache.NamespaceIndex`). */
export const NAMESPACE_INDEX = 'namespace';
/** Name of the built-in label index; values are `key=value`. */
export const LABEL_INDEX = 'labels';

/** The cache key of an object: `namespace/name`, or `name` for cluster-scoped objects. */
export function keyOf(obj: MetaObject): string {
  const m = obj.metadata ?? {};
  if (!m.name) throw new Error('object has no metadata.name');
  return m.namespace ? `${m.namespace}/${m.name}` : m.name;
}

/** Splits a cache key back into namespace and name (client-go `SplitMetaNamespaceKey`). */
export function splitKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/** One named index: its function and value → keys. */
interface Index<T> {
  fn: IndexFunc<T>;
  idx: Map<string, Set<string>>;
}

function namespaceValues(o: MetaObject): string[] {
  return [o.metadata?.namespace ?? ''];
}

function labelValues(o: MetaObject): string[] {
  const labels = o.metadata?.labels;
  const out: string[] = [];
  if (labels) for (const k in labels) out.push(`${k}=${labels[k]}`);
  return out;
}

/** Same values in the same order (the common case of an update: labels and namespace unchanged). */
function sameValues(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * See the module comment. The index values of each stored object are kept beside it, so replacing an object does
 * not recompute the old object's values, and index buckets are only touched when the values changed.
 */
export class Indexer<T extends MetaObject> {
  private readonly items = new Map<string, T>();
  /** index name → index */
  private readonly indices = new Map<string, Index<T>>();
  /** The same indexes in registration order, aligned with the arrays of {@link Indexer.stored}. */
  private readonly order: Index<T>[] = [];
  /** key → the values each index computed for the stored object (by position in {@link Indexer.order}) */
  private readonly stored = new Map<string, string[][]>();

  constructor() {
    this.addIndexer(NAMESPACE_INDEX, namespaceValues);
    this.addIndexer(LABEL_INDEX, labelValues);
  }

  /** Adds a named index and builds it over the current items; a duplicate name is an error, as in client-go. */
  addIndexer(name: string, fn: IndexFunc<T>): void {
    if (this.indices.has(name)) throw new Error(`indexer "${name}" already exists`);
    const index: Index<T> = { fn, idx: new Map() };
    this.indices.set(name, index);
    this.order.push(index);
    for (const [k, o] of this.items) {
      const vs = fn(o);
      this.stored.get(k)!.push(vs);
      for (const v of vs) add(index.idx, v, k);
    }
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  has(key: string): boolean {
    return this.items.has(key);
  }

  get size(): number {
    return this.items.size;
  }

  keys(): string[] {
    return [...this.items.keys()];
  }

  values(): T[] {
    return [...this.items.values()];
  }

  /** Inserts or replaces an object, moving it between index buckets. */
  set(key: string, obj: T): void {
    const order = this.order;
    const prev = this.stored.get(key);
    const prevObj = prev ? this.items.get(key) : undefined;
    this.items.set(key, obj);
    if (!prev) {
      const vals: string[][] = new Array(order.length);
      for (let i = 0; i < order.length; i++) {
        const vs = (vals[i] = order[i]!.fn(obj));
        for (const v of vs) add(order[i]!.idx, v, key);
      }
      this.stored.set(key, vals);
      return;
    }
    for (let i = 0; i < order.length; i++) {
      const { fn, idx } = order[i]!;
      // The built-in indexes of an updated object whose namespace and labels are unchanged (nearly every update):
      // the stored values still hold, without building them again per watch event.
      if (fn === namespaceValues ? prevObj?.metadata?.namespace === obj.metadata?.namespace
        : fn === labelValues && prevObj !== undefined && sameLabelSet(prevObj.metadata?.labels, obj.metadata?.labels)) continue;
      const vs = fn(obj);
      const old = prev[i]!;
      prev[i] = vs;
      if (sameValues(old, vs)) continue;
      for (const v of old) if (!vs.includes(v)) remove(idx, v, key);
      for (const v of vs) add(idx, v, key);
    }
  }

  /** Removes an object; returns it if it was there. */
  delete(key: string): T | undefined {
    const old = this.items.get(key);
    if (!old) return undefined;
    const vals = this.stored.get(key)!;
    for (let i = 0; i < this.order.length; i++) for (const v of vals[i]!) remove(this.order[i]!.idx, v, key);
    this.stored.delete(key);
    this.items.delete(key);
    return old;
  }

  /** Keys whose index `name` holds `value`. */
  indexKeys(name: string, value: string): string[] {
    const index = this.indices.get(name);
    if (!index) throw new Error(`index "${name}" does not exist`);
    const keys = index.idx.get(value);
    return keys ? [...keys] : [];
  }

  /** Objects whose index `name` holds `value` (client-go `ByIndex`). */
  byIndex(name: string, value: string): T[] {
    return this.indexKeys(name, value).map((k) => this.items.get(k)!);
  }
}

function add(idx: Map<string, Set<string>>, v: string, key: string): void {
  let set = idx.get(v);
  if (!set) idx.set(v, (set = new Set()));
  set.add(key);
}

function remove(idx: Map<string, Set<string>>, v: string, key: string): void {
  const set = idx.get(v);
  if (!set) return;
  set.delete(key);
  if (set.size === 0) idx.delete(v);
}

/**
 * Read access to an informer's cache, as client-go's generated listers give (`List(selector)`,
 * `Pods(ns).Get(name)`), plus index lookups. Selectors use Skiff's label selector implementation; an equality
 * requirement narrows the scan through the label index.
 */
export class Lister<T extends MetaObject> {
  constructor(private readonly indexer: Indexer<T>) {}

  /** Objects in `namespace` (all namespaces when undefined) matching `selector` (string or parsed). */
  list(namespace?: string, selector?: LabelSelector | string): T[] {
    const sel = typeof selector === 'string' ? parseLabelSelector(selector) : selector;
    let candidates: string[] | undefined;
    if (namespace !== undefined) candidates = this.indexer.indexKeys(NAMESPACE_INDEX, namespace);
    for (const r of sel?.requirements ?? []) {
      if ((r.operator === '=' || r.operator === '==' || r.operator === 'in') && r.values.length === 1) {
        const keys = this.indexer.indexKeys(LABEL_INDEX, `${r.key}=${r.values[0]}`);
        if (!candidates || keys.length < candidates.length) candidates = keys;
      }
    }
    const objs = candidates ? candidates.map((k) => this.indexer.get(k)!) : this.indexer.values();
    return objs.filter(
      (o) => (namespace === undefined || (o.metadata?.namespace ?? '') === namespace) && (!sel || matches(sel, o.metadata?.labels)),
    );
  }

  /** One object by namespace (undefined for cluster-scoped) and name. */
  get(namespace: string | undefined, name: string): T | undefined {
    return this.indexer.get(namespace ? `${namespace}/${name}` : name);
  }

  /** Objects whose index `name` holds `value` (custom indexers included). */
  byIndex(name: string, value: string): T[] {
    return this.indexer.byIndex(name, value);
  }
}
