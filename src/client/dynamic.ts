/**
 * Clients for any resource (client-go `dynamic.Interface` plus the typed clientsets' shape): {@link ResourceClient}
 * speaks the REST verbs — get, list (with paging), create, update, updateStatus, patch (merge, strategic, JSON,
 * server-side apply), delete, deleteCollection, watch, and subresources (scale, binding, eviction, token) — for one
 * group/version/resource. {@link DynamicClient} hands them out by GVR or by apiVersion + kind, looked up in Skiff's
 * resource registry; the type parameter gives a typed facade (`kubernetes-types`) over the same dynamic calls.
 */

import type { KObject, Status } from '../api/errors.js';
import { findKind, parseApiVersion, RESOURCES } from '../api/resources.js';
import type { ClientConfig } from './config.js';
import { RestClient, type Query, type RestClientOptions } from './rest.js';
import { LineSplitter, parseWatchLine, type WatchEvent } from './watch.js';

/** What a client needs to build URLs for a resource (discovery's APIResource, reduced). */
export interface ResourceRef {
  group: string;
  version: string;
  /** Plural, lower-case URL segment (`deployments`). */
  resource: string;
  kind: string;
  namespaced: boolean;
}

/** Options of a list call (`metav1.ListOptions`). */
export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  /** Page size; the server then returns `metadata.continue` while more remain. */
  limit?: number;
  /** The token of the previous page. */
  continue?: string;
  /** `"0"` lets the server answer from its cache; unset asks for a consistent (quorum) read. */
  resourceVersion?: string;
  resourceVersionMatch?: 'NotOlderThan' | 'Exact';
  timeoutSeconds?: number;
  /** Cancels the request (not sent to the server). */
  signal?: AbortSignal;
}

/** A list answer (`metav1.List` shape). */
export interface ListResult<T> {
  apiVersion?: string;
  kind?: string;
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

/** Options of a watch (`metav1.ListOptions` with `watch=true`). */
export interface WatchOptions {
  /** Start after this version; unset means "synthetic ADDED for everything, then changes". */
  resourceVersion?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Ask for BOOKMARK events that advance the resourceVersion without an object change. */
  allowWatchBookmarks?: boolean;
  /** Server-side lifetime of the watch; the server closes it normally afterwards. */
  timeoutSeconds?: number;
  sendInitialEvents?: boolean;
  resourceVersionMatch?: 'NotOlderThan';
}

/** A running watch. */
export interface WatchHandle {
  /** Stops the watch; `onClose` is then called with no error. */
  abort(): void;
  /** Resolves after `onClose` has run. */
  done: Promise<void>;
}

/** Options shared by write verbs (`metav1.CreateOptions`/`UpdateOptions`). */
export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
  fieldValidation?: 'Strict' | 'Warn' | 'Ignore';
  /**
   * Not sent: the caller ignores the answer, so a successful write resolves `undefined` without decoding the body
   * (bindings, events). Failures throw as always.
   */
  discardResult?: boolean;
}

/** Patch options; `force` only applies to server-side apply, `subresource` targets e.g. `status` or `scale`. */
export interface PatchOptions extends WriteOptions {
  force?: boolean;
  subresource?: string;
}

/** The four patch encodings kube-apiserver accepts, by their short kubectl names. */
export type PatchType = 'merge' | 'strategic' | 'json' | 'apply';

/** Content types of the {@link PatchType}s. */
export const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
};

/** `metav1.DeleteOptions` fields a client sets. */
export interface DeleteOptions {
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

type AnyObj = { metadata?: { name?: string; namespace?: string } } & Record<string, unknown>;

function writeQuery(o?: WriteOptions & { force?: boolean }): Query {
  return {
    dryRun: o?.dryRun ? 'All' : undefined,
    fieldManager: o?.fieldManager,
    fieldValidation: o?.fieldValidation,
    force: o?.force === undefined ? undefined : String(o.force),
  };
}

function deleteBody(o?: DeleteOptions): Record<string, unknown> | undefined {
  if (!o) return undefined;
  const body: Record<string, unknown> = { kind: 'DeleteOptions', apiVersion: 'v1' };
  if (o.propagationPolicy) body.propagationPolicy = o.propagationPolicy;
  if (o.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = o.gracePeriodSeconds;
  if (o.preconditions) body.preconditions = o.preconditions;
  if (o.dryRun) body.dryRun = ['All'];
  return body;
}

/**
 * REST verbs for one resource. Namespaced resources take the namespace as first argument (undefined = all
 * namespaces for list/watch/deleteCollection); cluster-scoped ones must get `undefined` there — a namespace is
 * rejected rather than ignored.
 */
export class ResourceClient<T = KObject> {
  constructor(
    readonly rest: RestClient,
    readonly ref: ResourceRef,
  ) {}

  /** `apiVersion` of the objects (`apps/v1`, `v1`). */
  get apiVersion(): string {
    return this.ref.group ? `${this.ref.group}/${this.ref.version}` : this.ref.version;
  }

  /** The URL path of the collection, an object or one of its subresources. */
  path(ns: string | undefined, name?: string, subresource?: string): string {
    const { group, version, resource, namespaced } = this.ref;
    let p = group ? `/apis/${group}/${version}` : `/api/${version}`;
    if (ns !== undefined && ns !== '') {
      if (!namespaced) throw new Error(`${resource}.${group || 'core'} is cluster-scoped; got namespace "${ns}"`);
      p += `/namespaces/${encodeURIComponent(ns)}`;
    }
    p += `/${resource}`;
    if (name !== undefined) {
      if (!name) throw new Error(`${resource}: a name is required`);
      p += `/${encodeURIComponent(name)}`;
    }
    if (subresource) p += `/${subresource}`;
    return p;
  }

  private objPath(ns: string | undefined, name: string, subresource?: string): string {
    if (this.ref.namespaced && !ns) throw new Error(`${this.ref.resource} "${name}": a namespace is required`);
    return this.path(ns, name, subresource);
  }

  /** GET one object. */
  get(ns: string | undefined, name: string, opts: { resourceVersion?: string } = {}): Promise<T> {
    return this.rest.request<T>({ method: 'GET', path: this.objPath(ns, name), query: { resourceVersion: opts.resourceVersion } });
  }

  /** GET one page of the collection. */
  list(ns: string | undefined, opts: ListOptions = {}): Promise<ListResult<T>> {
    const { signal, ...query } = opts;
    return this.rest.request<ListResult<T>>({ method: 'GET', path: this.path(ns), query, signal });
  }

  /**
   * Lists every page by following `continue` tokens (client-go `pager.ListPager`, page size 500 by default). The
   * result carries the resourceVersion of the first page: all pages of one list are served from that snapshot.
   */
  async listAll(ns: string | undefined, opts: ListOptions = {}): Promise<ListResult<T>> {
    const limit = opts.limit ?? 500;
    const first = await this.list(ns, { ...opts, limit });
    const items = [...(first.items ?? [])];
    let cont = first.metadata?.continue;
    while (cont) {
      // kube-apiserver rejects resourceVersion together with continue: the token already pins the snapshot.
      const page = await this.list(ns, { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector, limit, continue: cont, signal: opts.signal });
      items.push(...(page.items ?? []));
      cont = page.metadata?.continue;
    }
    return { apiVersion: first.apiVersion, kind: first.kind, metadata: { resourceVersion: first.metadata?.resourceVersion }, items };
  }

  /** POST a new object; the namespace defaults to the body's `metadata.namespace`. */
  create(ns: string | undefined, body: T, opts?: WriteOptions): Promise<T> {
    const nsv = this.ref.namespaced ? (ns ?? (body as AnyObj).metadata?.namespace) : ns;
    if (this.ref.namespaced && !nsv) throw new Error(`${this.ref.resource}: a namespace is required to create`);
    return this.rest.request<T>({ method: 'POST', path: this.path(nsv), query: writeQuery(opts), body, discardResult: opts?.discardResult });
  }

  /** PUT the whole object; its `metadata.resourceVersion` makes the write conditional (409 Conflict when stale). */
  update(ns: string | undefined, body: T, opts?: WriteOptions): Promise<T> {
    return this.put(ns, body, undefined, opts);
  }

  /** PUT the `status` subresource (controllers write status only through it). */
  updateStatus(ns: string | undefined, body: T, opts?: WriteOptions): Promise<T> {
    return this.put(ns, body, 'status', opts);
  }

  private put(ns: string | undefined, body: T, sub: string | undefined, opts?: WriteOptions): Promise<T> {
    const meta = (body as AnyObj).metadata ?? {};
    if (!meta.name) throw new Error(`${this.ref.resource}: metadata.name is required to update`);
    const nsv = this.ref.namespaced ? (ns ?? meta.namespace) : ns;
    return this.rest.request<T>({ method: 'PUT', path: this.objPath(nsv, meta.name, sub), query: writeQuery(opts), body });
  }

  /**
   * PATCH an object. `apply` is server-side apply and needs `fieldManager` (as kube-apiserver does); its body is
   * the applied configuration, sent as JSON (which is valid YAML). `opts.subresource` patches e.g. `status`.
   */
  patch(ns: string | undefined, name: string, type: PatchType, body: unknown, opts: PatchOptions = {}): Promise<T> {
    if (type === 'apply' && !opts.fieldManager) throw new Error('server-side apply requires opts.fieldManager');
    if (opts.force !== undefined && type !== 'apply') throw new Error('opts.force is only valid for server-side apply');
    return this.rest.request<T>({
      method: 'PATCH',
      path: this.objPath(ns, name, opts.subresource),
      query: writeQuery(opts),
      body: typeof body === 'string' ? body : JSON.stringify(body),
      contentType: PATCH_CONTENT_TYPES[type],
      discardResult: opts.discardResult,
    });
  }

  /**
   * DELETE an object. The answer is the object (when finalizers or graceful deletion keep it around) or a
   * success `Status`, as kube-apiserver returns.
   */
  delete(ns: string | undefined, name: string, opts?: DeleteOptions): Promise<T | Status> {
    return this.rest.request<T | Status>({ method: 'DELETE', path: this.objPath(ns, name), body: deleteBody(opts) });
  }

  /** DELETE the collection, filtered by selectors. */
  deleteCollection(ns: string | undefined, opts: ListOptions & DeleteOptions = {}): Promise<ListResult<T> | Status> {
    const { propagationPolicy, gracePeriodSeconds, preconditions, dryRun, signal, ...list } = opts;
    return this.rest.request({
      method: 'DELETE',
      path: this.path(ns),
      query: list,
      signal,
      body: deleteBody({ propagationPolicy, gracePeriodSeconds, preconditions, dryRun }),
    });
  }

  /**
   * Opens a watch. `onEvent` gets each decoded frame (ERROR frames included: a 410 there means "relist");
   * `onClose` runs exactly once — with no error when the server ended the stream or {@link WatchHandle.abort} was
   * called, with the error otherwise (HTTP error answer → ApiError, dropped connection, undecodable frame, or an
   * exception thrown by `onEvent`).
   */
  watch(
    ns: string | undefined,
    opts: WatchOptions,
    onEvent: (ev: WatchEvent<T>) => void,
    onClose: (err?: unknown) => void,
  ): WatchHandle {
    const ac = new AbortController();
    const query: Query = {
      watch: 'true',
      resourceVersion: opts.resourceVersion,
      resourceVersionMatch: opts.resourceVersionMatch,
      labelSelector: opts.labelSelector,
      fieldSelector: opts.fieldSelector,
      allowWatchBookmarks: opts.allowWatchBookmarks ? 'true' : undefined,
      timeoutSeconds: opts.timeoutSeconds,
      sendInitialEvents: opts.sendInitialEvents === undefined ? undefined : String(opts.sendInitialEvents),
    };
    const run = async (): Promise<unknown> => {
      const res = await this.rest.stream({ method: 'GET', path: this.path(ns), query, signal: ac.signal });
      if (ac.signal.aborted) {
        res.abort();
        return undefined;
      }
      ac.signal.addEventListener('abort', () => res.abort(), { once: true });
      const splitter = new LineSplitter();
      for await (const chunk of res.body) {
        for (const line of splitter.push(chunk as Buffer)) {
          if (ac.signal.aborted) return undefined;
          onEvent(parseWatchLine<T>(line));
        }
      }
      const last = splitter.end();
      if (last && !ac.signal.aborted) onEvent(parseWatchLine<T>(last));
      return undefined;
    };
    const done = run().then(
      () => onClose(),
      (err) => {
        if (ac.signal.aborted) onClose();
        else {
          ac.abort();
          onClose(err);
        }
      },
    );
    return { abort: () => ac.abort(), done };
  }

  /** GET a subresource (`scale`, `status`, …). */
  getSubresource<R = unknown>(ns: string | undefined, name: string, subresource: string): Promise<R> {
    return this.rest.request<R>({ method: 'GET', path: this.objPath(ns, name, subresource) });
  }

  /** POST to a subresource: `binding` (scheduler), `eviction` (drain), `token` (service accounts). */
  createSubresource<R = unknown>(ns: string | undefined, name: string, subresource: string, body: unknown, opts?: WriteOptions): Promise<R> {
    return this.rest.request<R>({ method: 'POST', path: this.objPath(ns, name, subresource), query: writeQuery(opts), body, discardResult: opts?.discardResult });
  }

  /** PUT a subresource (`scale`, `status`, `finalize`). */
  updateSubresource<R = unknown>(ns: string | undefined, name: string, subresource: string, body: unknown, opts?: WriteOptions): Promise<R> {
    return this.rest.request<R>({ method: 'PUT', path: this.objPath(ns, name, subresource), query: writeQuery(opts), body });
  }

  /** Reads the `autoscaling/v1` Scale of a scalable resource. */
  getScale(ns: string | undefined, name: string): Promise<Scale> {
    return this.getSubresource<Scale>(ns, name, 'scale');
  }

  /** Sets `spec.replicas` through the scale subresource (what `kubectl scale` and the HPA do). */
  scale(ns: string | undefined, name: string, replicas: number): Promise<Scale> {
    return this.rest.request<Scale>({
      method: 'PATCH',
      path: this.objPath(ns, name, 'scale'),
      body: JSON.stringify({ spec: { replicas } }),
      contentType: PATCH_CONTENT_TYPES.merge,
    });
  }
}

/** `autoscaling/v1` Scale, as the scale subresource reads and writes it. */
export interface Scale {
  apiVersion?: string;
  kind?: string;
  metadata: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: { replicas?: number };
  status?: { replicas: number; selector?: string };
}

/**
 * The entry point of the client library: one {@link RestClient} (one connection pool, one rate limiter) shared by
 * every {@link ResourceClient} it hands out, as client-go clientsets share one `rest.Config`.
 */
export class DynamicClient {
  readonly rest: RestClient;

  constructor(config: ClientConfig | RestClient, opts?: RestClientOptions) {
    this.rest = config instanceof RestClient ? config : new RestClient(config, opts);
  }

  /**
   * A client for a kind Skiff serves, typed by `T` (e.g. `resource<Deployment>('apps/v1', 'Deployment')` with
   * `kubernetes-types`), or for any group/version/resource given as a {@link ResourceRef} (custom resources).
   */
  resource<T = KObject>(apiVersion: string, kind: string): ResourceClient<T>;
  resource<T = KObject>(ref: ResourceRef): ResourceClient<T>;
  resource<T = KObject>(a: string | ResourceRef, kind?: string): ResourceClient<T> {
    if (typeof a !== 'string') return new ResourceClient<T>(this.rest, a);
    const { group, version } = parseApiVersion(a);
    const info = findKind(group, version, kind ?? '');
    if (!info) {
      const known = RESOURCES.filter((r) => r.kind === kind).map((r) => (r.group ? `${r.group}/${r.version}` : r.version));
      throw new Error(`unknown kind ${kind} in ${a}${known.length ? ` (served in ${known.join(', ')})` : ''}; pass a ResourceRef for custom resources`);
    }
    return new ResourceClient<T>(this.rest, { group, version, resource: info.resource, kind: info.kind, namespaced: info.namespaced });
  }

  /** Frees the connection pool. */
  close(): void {
    this.rest.close();
  }
}
