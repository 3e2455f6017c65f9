/**
 * The informer's local cache (client-go `cache.Indexer`/`ThreadSafeStore` and the generated listers): objects in a
 * `Map` keyed `namespace/name` (client-go `MetaNamespaceKeyFunc`), plus indexes — `namespace` and `labels` built in,
 * custom ones added by name (client-go `Indexers`). Readers get the cached objects themselves: like client-go's,
 * they are shared and must be treated as read-only (copy before changing).
 */

import { matches, parseLabelSelector, type LabelSelector } from '../api/labels.js';

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

/** See the module comment. */
export class Indexer<T extends MetaObject> {
  private readonly items = new Map<string, T>();
  private readonly indexers = new Map<string, IndexFunc<T>>();
  /** index name → index value → keys */
  private readonly indices = new Map<string, Map<string, Set<string>>>();

  constructor() {
    this.addIndexer(NAMESPACE_INDEX, (o) => [o.metadata?.namespace ?? '']);
    this.addIndexer(LABEL_INDEX, (o) => Object.entries(o.metadata?.labels ?? {}).map(([k, v]) => `${k}=${v}`));
  }

  /** Adds a named index and builds it over the current items; a duplicate name is an error, as in client-go. */
  addIndexer(name: string, fn: IndexFunc<T>): void {
    if (this.indexers.has(name)) throw new Error(`indexer "${name}" already exists`);
    this.indexers.set(name, fn);
    const idx = new Map<string, Set<string>>();
    this.indices.set(name, idx);
    for (const [k, o] of this.items) for (const v of fn(o)) add(idx, v, k);
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
    const old = this.items.get(key);
    if (old) this.unindex(key, old);
    this.items.set(key, obj);
    for (const [name, fn] of this.indexers) {
      const idx = this.indices.get(name)!;
      for (const v of fn(obj)) add(idx, v, key);
    }
  }

  /** Removes an object; returns it if it was there. */
  delete(key: string): T | undefined {
    const old = this.items.get(key);
    if (!old) return undefined;
    this.unindex(key, old);
    this.items.delete(key);
    return old;
  }

  /** Keys whose index `name` holds `value`. */
  indexKeys(name: string, value: string): string[] {
    const idx = this.indices.get(name);
    if (!idx) throw new Error(`index "${name}" does not exist`);
    return [...(idx.get(value) ?? [])];
  }

  /** Objects whose index `name` holds `value` (client-go `ByIndex`). */
  byIndex(name: string, value: string): T[] {
    return this.indexKeys(name, value).map((k) => this.items.get(k)!);
  }

  private unindex(key: string, obj: T): void {
    for (const [name, fn] of this.indexers) {
      const idx = this.indices.get(name)!;
      for (const v of fn(obj)) {
        const set = idx.get(v);
        if (!set) continue;
        set.delete(key);
        if (set.size === 0) idx.delete(v);
      }
    }
  }
}

function add(idx: Map<string, Set<string>>, v: string, key: string): void {
  let set = idx.get(v);
  if (!set) idx.set(v, (set = new Set()));
  set.add(key);
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
