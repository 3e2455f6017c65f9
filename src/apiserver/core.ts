/**
 * The apiserver's request pipeline: authenticate → route (health, version, discovery, OpenAPI, metrics, resources)
 * → verb handler → registry → store. Transport-independent: `handle(req, res)` is mounted on the HTTPS server by
 * server.ts, and tests may mount it anywhere.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, errors, KObject } from '../api/errors.js';
import { ResourceInfo, findResource, RESOURCES } from '../api/resources.js';
import type { Backend } from '../store/types.js';
import { RequestContext, UserInfo, writeError, writeObject } from './context.js';
import { aggregatedDiscovery, AGGREGATED_CONTENT_TYPE, legacyApiVersions, legacyGroup, legacyGroupList, resourceList } from './discovery.js';
import { ApiMetrics } from './metrics.js';
import { parseAccept } from './negotiation.js';
import { Registry } from './registry.js';
import { NamespaceCache } from './namespace-cache.js';
import { parseRequestPath, ResourceRequest } from './request-info.js';
import { handleGet, handleList } from './verbs/read.js';
import { handleWatch } from './verbs/watch.js';
import { handleCreate, handleUpdate, handlePatch } from './verbs/write.js';
import { handleDelete, handleDeleteCollection } from './verbs/delete.js';
import { handleSubresource, handleVirtualCreate, isVirtualResource } from './verbs/subresources.js';
import { handleOpenapi } from '../api/openapi/index.js';
import { METRICS_GROUP, serveMetricsApi } from './metrics-api/index.js';

export interface CoreOptions {
  /** PEM of the cluster CA, served at /cacerts for joining agents. */
  caCertPem?: string;
  backend: Backend;
  /** Returns the user for a request or undefined (→ 401). */
  authenticate: (req: IncomingMessage) => UserInfo | undefined;
  /** The externally visible address of this apiserver (host:port) for legacy discovery. */
  serverAddress?: string;
  version?: Record<string, string>;
  /** Issues service-account tokens for serviceaccounts/token (a promise lets the RSA signature run off the event loop). */
  issueToken?: (opts: { namespace: string; name: string; uid: string; audiences?: string[]; expirationSeconds?: number; boundObject?: unknown }) => { token: string; expirationTimestamp: string } | Promise<{ token: string; expirationTimestamp: string }>;
  /** Validates a bearer token for TokenReview. */
  reviewToken?: (token: string, audiences?: string[]) => UserInfo | undefined;
  /** True once a garbage collector runs: only then do Foreground/Orphan deletions add their finalizers. */
  garbageCollectorEnabled?: () => boolean;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

/** Work a storage hook began: `commit` once the write is stored, `revert` when it is not (or was a dry run). */
export interface WriteTxn {
  commit(): Promise<void>;
  revert(): Promise<void>;
}

/**
 * Per-resource storage hooks, upstream's registry `BeginCreate`/`BeginUpdate`/`AfterDelete` (the service registry
 * allocates ClusterIPs and NodePorts with them). `beginCreate` runs after validation, `beginUpdate` after the update
 * strategy and before validation (it may drop or patch fields); both must leave nothing behind on a dry run.
 */
export interface StorageHooks {
  beginCreate?(obj: KObject, dryRun: boolean): Promise<WriteTxn | undefined>;
  beginUpdate?(next: KObject, current: KObject, dryRun: boolean): Promise<WriteTxn | undefined>;
  /** After the object left the store (any path: DELETE, finalizer removal, namespace cleanup). */
  afterDelete?(obj: KObject): Promise<void>;
}

export const KUBE_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0+skiff',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: `node${process.versions.node}`,
  compiler: 'tsc',
  platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
};

export class ApiServerCore {
  readonly metrics = new ApiMetrics();
  readonly backend: Backend;
  readonly registry: Registry;
  ready = false;
  /** Namespace existence/termination for admission, fed by a watch. */
  readonly namespaces: NamespaceCache;
  /** Extra create-time admission (priority classes, service IPs…), set by the components that own it. */
  admitCreate?: (ctx: RequestContext, obj: KObject) => Promise<void>;
  /** Storage hooks keyed `group/resource` (e.g. `/services`), installed by the components that own them. */
  readonly storageHooks = new Map<string, StorageHooks>();

  constructor(readonly opts: CoreOptions) {
    this.backend = this.metrics.instrumentBackend(opts.backend);
    this.registry = new Registry(this.backend);
    this.namespaces = new NamespaceCache(opts.backend, this.registry.prefix(findResource('', 'v1', 'namespaces')!), (m, f) => this.log(m, f));
  }

  log(msg: string, fields?: Record<string, unknown>): void {
    this.opts.log?.(msg, fields);
  }

  hooksFor(info: ResourceInfo): StorageHooks | undefined {
    return this.storageHooks.size ? this.storageHooks.get(`${info.group}/${info.resource}`) : undefined;
  }

  /** Runs the resource's `afterDelete` hook for an object just removed; a failure is logged, never thrown. */
  async afterRemove(info: ResourceInfo, obj: KObject): Promise<void> {
    const h = this.hooksFor(info)?.afterDelete;
    if (!h) return;
    try {
      await h(obj);
    } catch (e) {
      this.log('afterDelete hook failed', { resource: info.resource, name: obj.metadata?.name, err: String(e) });
    }
  }

  /** Entry point for every HTTP request. Never throws: failures become Status responses. */
  handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.dispatch(req, res).catch((err) => {
      try {
        writeError(res, err);
      } catch {
        res.destroy();
      }
    });
  };

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Dot segments would be silently resolved by URL parsing (`/configmaps/../pods` → `/pods`): refuse them.
    const rawUrl = req.url ?? '/';
    const qi = rawUrl.indexOf('?');
    const rawPath = qi < 0 ? rawUrl : rawUrl.slice(0, qi);
    if ((rawPath.includes('.') || rawPath.includes('%')) && /(^|\/)(\.|%2e){1,2}(\/|$)/i.test(rawPath)) {
      req.resume();
      writeError(res, errors.badRequest(`invalid request path ${JSON.stringify(rawPath)}: dot segments are not allowed`));
      return;
    }
    // Plain paths (what clients send) need no URL parsing: its pathname would be the same text.
    let path: string;
    let query: URLSearchParams;
    if (PLAIN_PATH.test(rawPath) && !rawUrl.includes('#')) {
      path = rawPath;
      query = new URLSearchParams(qi < 0 ? '' : rawUrl.slice(qi + 1));
    } else {
      const url = new URL(rawUrl, 'https://localhost');
      path = url.pathname;
      query = url.searchParams;
    }
    // Health endpoints answer before authentication, as kube-apiserver allows them for system:unauthenticated.
    if (path === '/healthz' || path === '/livez' || path === '/readyz' || path.startsWith('/healthz/') || path.startsWith('/livez/') || path.startsWith('/readyz/')) {
      const ok = path.startsWith('/livez') || this.ready;
      res.writeHead(ok ? 200 : 500, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
      res.end(ok ? 'ok' : '[-]informer-sync failed: not ready\nreadyz check failed');
      return;
    }
    // The CA bundle is public (as k3s's /cacerts): agents fetch it, then verify it against their join token's hash.
    if (path === '/cacerts' && this.opts.caCertPem) {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(this.opts.caCertPem);
      return;
    }
    const user = this.opts.authenticate(req);
    if (!user) {
      req.resume();
      writeError(res, errors.unauthorized());
      return;
    }
    if (path === '/version' || path === '/version/') {
      writeObject(res, 200, this.opts.version ?? KUBE_VERSION);
      return;
    }
    if (path === '/metrics') {
      const text = await this.metrics.registry.metrics();
      res.writeHead(200, { 'Content-Type': this.metrics.registry.contentType });
      res.end(text);
      return;
    }
    if (path.startsWith('/openapi/')) {
      const hv = (n: string): string | undefined => { const v = req.headers[n]; return Array.isArray(v) ? v.join(', ') : v; };
      const out = handleOpenapi(path, query, { accept: hv('accept'), acceptEncoding: hv('accept-encoding'), ifNoneMatch: hv('if-none-match'), ifModifiedSince: hv('if-modified-since') });
      res.writeHead(out.status, out.headers);
      res.end(out.body);
      return;
    }
    if (path === '/api' || path === '/api/' || path === '/apis' || path === '/apis/') {
      const which = path.startsWith('/apis') ? 'apis' : 'api';
      const wantsAggregated = parseAccept(req.headers.accept).find((r) => r.params['g'] === 'apidiscovery.k8s.io' && r.params['as'] === 'APIGroupDiscoveryList' && (r.params['v'] === 'v2' || r.params['v'] === 'v2beta1'));
      if (wantsAggregated) {
        // v2beta1 (all kubectl ≤ 1.29 asks for) has the same shape as v2; clients check the answered version.
        const beta = wantsAggregated.params['v'] === 'v2beta1';
        let body = aggregatedDiscovery(which);
        if (beta) body = body.replace('"apiVersion":"apidiscovery.k8s.io/v2"', '"apiVersion":"apidiscovery.k8s.io/v2beta1"');
        res.writeHead(200, { 'Content-Type': beta ? AGGREGATED_CONTENT_TYPE.replace('v=v2;', 'v=v2beta1;') : AGGREGATED_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
        return;
      }
      writeObject(res, 200, which === 'api' ? legacyApiVersions(this.opts.serverAddress ?? '127.0.0.1:6443') : legacyGroupList());
      return;
    }
    const ri = parseRequestPath(req.method ?? 'GET', path, query);
    if (ri.kind === 'other') {
      const parts = path.split('/').filter(Boolean);
      if (parts[0] === 'apis' && parts.length === 2) {
        const g = legacyGroup(parts[1]);
        if (g) { writeObject(res, 200, g); return; }
      }
      throw errors.notFoundPath();
    }
    if (ri.kind === 'groupversion') {
      const rl = resourceList(ri.group, ri.version);
      if (!rl) throw errors.notFoundPath();
      writeObject(res, 200, rl);
      return;
    }
    // metrics.k8s.io is computed from kubelet scrapes, not stored (metrics-api/).
    if (ri.group === METRICS_GROUP) return serveMetricsApi(this, req, res, ri, query);
    const info = findResource(ri.group, ri.version, ri.resource);
    if (!info) throw errors.notFoundPath();
    await this.serveResource(req, res, query, ri, info, user);
  }

  private async serveResource(req: IncomingMessage, res: ServerResponse, query: URLSearchParams, ri: ResourceRequest, info: ResourceInfo, user: UserInfo): Promise<void> {
    // `/api/v1/namespaces/NAME` addresses the Namespace object itself.
    if (info.namespaced && ri.namespace === undefined && ri.name !== undefined && !(ri.resource === 'namespaces')) {
      // e.g. GET /api/v1/pods/foo is not a valid path
      throw errors.notFoundPath();
    }
    const started = process.hrtime.bigint();
    const ctx: RequestContext = { req, res, query, ri, info, user, core: this, warnings: [] };
    const labels = {
      verb: metricVerb(ri.verb, req),
      dry_run: query.get('dryRun') ?? '',
      group: info.group,
      version: info.version,
      resource: info.resource,
      subresource: ri.subresource ?? '',
      scope: info.namespaced ? (ri.namespace ? 'namespace' : 'cluster') : 'cluster',
      component: 'apiserver',
      code: '',
    };
    let code = 200;
    try {
      if (ri.subresource === 'status' && !info.subresources.some((x) => x.name === 'status')) throw errors.notFoundPath();
      if (ri.subresource === 'status' && !['get', 'update', 'patch'].includes(ri.verb)) {
        throw errors.methodNotAllowed(`${ri.verb} is not supported on ${info.resource}/status`);
      }
      if (!info.verbs.includes(ri.verb) && !ri.subresource) {
        throw errors.methodNotAllowed(`${ri.verb} is not supported on resources of kind "${info.resource}"`);
      }
      if (isVirtualResource(info.resource)) {
        if (ri.verb !== 'create') throw errors.methodNotAllowed(`${ri.verb} is not supported on ${info.resource}`);
        await handleVirtualCreate(ctx);
      } else if (ri.subresource && ri.subresource !== 'status') {
        await handleSubresource(ctx);
      } else {
        switch (ri.verb) {
          case 'get': await handleGet(ctx); break;
          case 'list': await handleList(ctx); break;
          case 'watch': await handleWatch(ctx); break;
          case 'create': await handleCreate(ctx); break;
          case 'update': await handleUpdate(ctx); break;
          case 'patch': await handlePatch(ctx); break;
          case 'delete': await handleDelete(ctx); break;
          case 'deletecollection': await handleDeleteCollection(ctx); break;
          default: throw errors.methodNotAllowed(`the server does not allow this method on the requested resource`);
        }
      }
      code = res.statusCode;
    } catch (err) {
      code = writeError(res, err);
    } finally {
      // The metrics read only their own label names (in their own order), so one object serves both.
      labels.code = String(code);
      this.metrics.requests.inc(labels);
      if (ri.verb !== 'watch') this.metrics.duration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  /** Namespace lifecycle admission: objects may not be created in a missing or terminating namespace. */
  async admitNamespace(info: ResourceInfo, namespace: string | undefined, name?: string): Promise<void> {
    if (!info.namespaced || namespace === undefined) return;
    const ns = await this.namespaces.get(namespace);
    if (!ns) throw errors.notFound('namespaces', '', namespace);
    if (ns.terminating) {
      // Events may still be written into a terminating namespace, as upstream allows.
      if (info.resource === 'events') return;
      // NamespaceLifecycle admission: errors.NewForbidden(resource, name, …) — the name is the request's (absent for
      // generateName), and the details carry no causes.
      const resource = `${info.resource}${info.group ? '.' + info.group : ''}`;
      throw new ApiError(
        403, 'Forbidden',
        `${resource}${name ? ` ${JSON.stringify(name)}` : ''} is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
        { name: name ?? '', group: info.group, kind: info.resource },
      );
    }
  }
}

/** A path `new URL` would return unchanged as its pathname: one leading slash, no characters it would encode or resolve. */
const PLAIN_PATH = /^\/(?!\/)[A-Za-z0-9\-._~!$&()*+,;=:@/]*$/;

/**
 * The `verb` label as upstream's CleanVerb reports it: the installer's HTTP-ish action verbs (GET, LIST, WATCH,
 * POST, PUT, PATCH, DELETE, DELETECOLLECTION), with server-side apply as APPLY.
 */
function metricVerb(verb: string, req: IncomingMessage): string {
  switch (verb) {
    case 'create': return 'POST';
    case 'update': return 'PUT';
    case 'patch': return (req.headers['content-type'] ?? '').split(';')[0].trim() === 'application/apply-patch+yaml' ? 'APPLY' : 'PATCH';
    default: return verb.toUpperCase();
  }
}

export { RESOURCES };
