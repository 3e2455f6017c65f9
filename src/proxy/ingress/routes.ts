/**
 * The Ingress routing table: which Ingresses this controller serves, and how a request's host and path pick a
 * backend. Pure functions over Ingress/IngressClass objects, rebuilt whenever an informer reports a change.
 *
 * Semantics follow the networking.k8s.io/v1 Ingress spec and ingress-nginx:
 * - Class: `spec.ingressClassName` naming an IngressClass whose controller is {@link CONTROLLER_NAME} (or naming
 *   `skiff` while that class object does not exist yet); else the legacy `kubernetes.io/ingress.class` annotation;
 *   else, with neither set, the cluster's default IngressClass (`ingressclass.kubernetes.io/is-default-class`).
 * - Host: exact (case-insensitive) beats a `*.example.com` wildcard (which matches exactly one extra label), which
 *   beats rules without a host. As in ingress-nginx, once a host bucket is chosen, requests that match none of its
 *   paths do not fall through to less specific hosts: they go to the default backend.
 * - Path: `Exact` compares the whole path; `Prefix` compares `/`-separated elements (`/foo` matches `/foo` and
 *   `/foo/bar`, not `/foobar`; a trailing slash is ignored); `ImplementationSpecific` is treated as `Prefix`. The
 *   longest path wins, `Exact` beats `Prefix` for the same path, and the oldest Ingress wins a tie (ingress-nginx).
 * - `spec.defaultBackend` of the oldest Ingress of the class handles requests that match no rule.
 */

import type { Ingress, IngressBackend, IngressClass } from 'kubernetes-types/networking/v1.js';

/** The IngressClass `spec.controller` value this controller implements. */
export const CONTROLLER_NAME = 'skiff.dev/ingress';
/** The name of Skiff's built-in IngressClass. */
export const CLASS_NAME = 'skiff';
/** Marks the cluster's default IngressClass (upstream annotation). */
export const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';
/** The deprecated annotation that names a class before `spec.ingressClassName` existed. */
export const LEGACY_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';

/** A backend together with the namespace its Service lives in and the Ingress that declared it. */
export interface BackendRef {
  namespace: string;
  backend: IngressBackend;
  /** `namespace/name` of the declaring Ingress, for logs. */
  ingress: string;
}

/** One path of a host bucket, ordered for first-match lookup. */
interface PathRoute extends BackendRef {
  type: 'Exact' | 'Prefix';
  /** For Prefix: the path without trailing slashes (`/` becomes ``); for Exact: the path as written. */
  match: string;
  /** Tie-break rank of the declaring Ingress (lower is older). */
  rank: number;
}

/** A routing decision: the backend and the rule path that selected it (absent for the default backend). */
export interface RouteMatch extends BackendRef {
  path?: string;
  pathType?: 'Exact' | 'Prefix';
}

/** A host → TLS Secret binding from `spec.tls`. */
export interface TlsBinding {
  namespace: string;
  secretName: string;
  ingress: string;
}

/** Whether `ing` belongs to this controller, given all IngressClasses of the cluster. */
export function isOurIngress(ing: Ingress, classes: IngressClass[]): boolean {
  const ours = (name: string) => {
    const cls = classes.find((c) => c.metadata?.name === name);
    return cls ? cls.spec?.controller === CONTROLLER_NAME : name === CLASS_NAME;
  };
  const className = ing.spec?.ingressClassName;
  if (className) return ours(className);
  const legacy = ing.metadata?.annotations?.[LEGACY_CLASS_ANNOTATION];
  if (legacy) return ours(legacy);
  const defaults = classes.filter((c) => c.metadata?.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true');
  // Upstream admission refuses to default when several classes claim the default; so do we.
  return defaults.length === 1 && defaults[0]!.spec?.controller === CONTROLLER_NAME;
}

/** Orders Ingresses oldest first (creationTimestamp, then namespace/name), the tie-break ingress-nginx uses. */
export function sortIngresses(ings: Ingress[]): Ingress[] {
  const key = (i: Ingress) => `${i.metadata?.creationTimestamp ?? ''}\u0000${i.metadata?.namespace ?? ''}/${i.metadata?.name ?? ''}`;
  return [...ings].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** Lower-cases a Host header value and strips its port and any trailing dot (`Foo.COM.:8080` → `foo.com`). */
export function normalizeHost(host: string | undefined): string {
  if (!host) return '';
  let h = host.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end > 0 ? h.slice(1, end) : h;
  }
  const colon = h.indexOf(':');
  if (colon >= 0 && h.indexOf(':', colon + 1) < 0) h = h.slice(0, colon);
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

/** The path part of a request target (origin form `/a?b` or absolute form `http://h/a?b`), without the query. */
export function requestPath(url: string | undefined): string {
  let u = url ?? '/';
  if (!u.startsWith('/')) {
    try {
      u = new URL(u).pathname;
    } catch {
      return '/';
    }
  }
  const q = u.search(/[?#]/);
  const p = q >= 0 ? u.slice(0, q) : u;
  return p || '/';
}

/** Whether a request path matches an Ingress path of the given type (see the module comment). */
export function pathMatches(type: 'Exact' | 'Prefix', rulePath: string, reqPath: string): boolean {
  if (type === 'Exact') return reqPath === rulePath;
  const p = rulePath.replace(/\/+$/, '');
  return reqPath === p || reqPath.startsWith(p + '/');
}

/** Whether `host` matches the rule host `pattern` (exact, or `*.suffix` with exactly one label in place of `*`). */
export function hostMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase();
  if (!p.startsWith('*.')) return p === host;
  const dot = host.indexOf('.');
  return dot > 0 && host.slice(dot + 1) === p.slice(2);
}

class HostBucket {
  readonly paths: PathRoute[] = [];

  add(r: PathRoute): void {
    this.paths.push(r);
  }

  /** Longest path first; Exact before Prefix on equal length; older Ingress first. */
  seal(): void {
    this.paths.sort((a, b) => b.match.length - a.match.length || (a.type === b.type ? 0 : a.type === 'Exact' ? -1 : 1) || a.rank - b.rank);
  }

  find(reqPath: string): PathRoute | undefined {
    return this.paths.find((r) => pathMatches(r.type, r.match, reqPath));
  }
}

/** Problems found while building a table (invalid paths), reported by the controller's log. */
export interface TableProblem {
  ingress: string;
  message: string;
}

/** See the module comment. Build with {@link buildRouteTable}. */
export class RouteTable {
  readonly exact = new Map<string, HostBucket>();
  readonly wildcard = new Map<string, HostBucket>();
  readonly catchAll = new HostBucket();
  defaultBackend?: BackendRef;
  /** TLS bindings by host pattern (`foo.com`, `*.foo.com`). */
  readonly tls = new Map<string, TlsBinding>();
  readonly problems: TableProblem[] = [];

  /** Picks the backend for a request, or undefined when neither a rule nor a default backend applies (→ 404). */
  match(hostHeader: string | undefined, url: string | undefined): RouteMatch | undefined {
    const host = normalizeHost(hostHeader);
    const path = requestPath(url);
    const dot = host.indexOf('.');
    const bucket = this.exact.get(host) ?? (dot > 0 ? this.wildcard.get(host.slice(dot + 1)) : undefined) ?? this.catchAll;
    const r = bucket.find(path);
    if (r) return { namespace: r.namespace, backend: r.backend, ingress: r.ingress, path: r.match || '/', pathType: r.type };
    return this.defaultBackend;
  }

  /** The TLS binding for an SNI server name: exact host first, then a wildcard covering it. */
  tlsFor(serverName: string): TlsBinding | undefined {
    const host = normalizeHost(serverName);
    const dot = host.indexOf('.');
    return this.tls.get(host) ?? (dot > 0 ? this.tls.get(`*.${host.slice(dot + 1)}`) : undefined);
  }

  /** Number of path routes, for logs. */
  get size(): number {
    let n = this.catchAll.paths.length;
    for (const b of [...this.exact.values(), ...this.wildcard.values()]) n += b.paths.length;
    return n;
  }
}

/** Builds the merged table of all `ingresses` (already filtered to this controller's class). */
export function buildRouteTable(ingresses: Ingress[]): RouteTable {
  const t = new RouteTable();
  sortIngresses(ingresses).forEach((ing, rank) => {
    const namespace = ing.metadata?.namespace ?? 'default';
    const id = `${namespace}/${ing.metadata?.name ?? ''}`;
    if (ing.spec?.defaultBackend && !t.defaultBackend) t.defaultBackend = { namespace, backend: ing.spec.defaultBackend, ingress: id };
    const ruleHosts: string[] = [];
    for (const rule of ing.spec?.rules ?? []) {
      const host = (rule.host ?? '').toLowerCase();
      if (host) ruleHosts.push(host);
      let bucket = t.catchAll;
      if (host.startsWith('*.')) {
        const suffix = host.slice(2);
        bucket = t.wildcard.get(suffix) ?? new HostBucket();
        t.wildcard.set(suffix, bucket);
      } else if (host) {
        bucket = t.exact.get(host) ?? new HostBucket();
        t.exact.set(host, bucket);
      }
      for (const p of rule.http?.paths ?? []) {
        const type = p.pathType === 'Exact' ? 'Exact' : 'Prefix';
        const path = p.path || '/';
        if (!path.startsWith('/')) {
          t.problems.push({ ingress: id, message: `path ${JSON.stringify(path)} of host ${JSON.stringify(host)} is not absolute; ignored` });
          continue;
        }
        bucket.add({ namespace, backend: p.backend, ingress: id, type, match: type === 'Exact' ? path : path.replace(/\/+$/, ''), rank });
      }
    }
    for (const entry of ing.spec?.tls ?? []) {
      if (!entry.secretName) continue;
      // Without hosts, the certificate covers the hosts of this Ingress's rules.
      for (const h of entry.hosts?.length ? entry.hosts : ruleHosts) {
        const host = h.toLowerCase();
        if (!t.tls.has(host)) t.tls.set(host, { namespace, secretName: entry.secretName, ingress: id });
      }
    }
  });
  for (const b of [...t.exact.values(), ...t.wildcard.values(), t.catchAll]) b.seal();
  return t;
}
