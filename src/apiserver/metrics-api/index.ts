/**
 * metrics.k8s.io/v1beta1 served in-process, as metrics-server serves it behind an APIService: NodeMetrics and
 * PodMetrics (get; list across or within namespaces with labelSelector and fieldSelector on metadata.name /
 * metadata.namespace), computed from scrapes of every Ready node's kubelet `/metrics/resource` over the same TLS
 * client the apiserver proxies logs with. Scraping starts with the first metrics request: two scrapes
 * `firstWindowMs` apart (so the first `kubectl top` has a CPU rate), then one every `resolutionMs` (metrics-server's
 * --metric-resolution, 15 s). Only get and list exist; other verbs get a 405 Status.
 */
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errors, type KObject } from '../../api/errors.js';
import { formatQuantity, newScaledQuantity } from '../../api/quantity.js';
import { findResource } from '../../api/resources.js';
import { matches as labelsMatch, parseLabelSelector } from '../../api/labels.js';
import { parseFieldSelector, type FieldSelector } from '../../api/fields.js';
import { writeObject } from '../context.js';
import { negotiate } from '../negotiation.js';
import type { ResourceRequest } from '../request-info.js';
import type { ApiServerCore } from '../core.js';
import { kubeletTlsOptions } from '../proxy/kubelet.js';
import { METRICS_API_VERSION, METRICS_GROUP, METRICS_VERSION } from './resources.js';
import { decodeResourceMetrics, MetricsStorage, type PodUsage, type Usage } from './storage.js';

export { METRICS_GROUP } from './resources.js';

/** Where a node's kubelet listens. */
export interface KubeletEndpoint {
  nodeName: string;
  host: string;
  port: number;
}

/** Options of the metrics API (tests shorten the intervals or replace the fetch). */
export interface MetricsApiOptions {
  /** Time between scrapes (default 15 s). */
  resolutionMs?: number;
  /** Time between the first two scrapes (default 1 s). */
  firstWindowMs?: number;
  /** Per-node scrape timeout (default 10 s, as metrics-server's). */
  scrapeTimeoutMs?: number;
  /** Fetches `/metrics/resource` of a kubelet; default HTTPS with the apiserver's kubelet client config. */
  fetchMetrics?: (ep: KubeletEndpoint) => Promise<string>;
}

const NODES = () => findResource('', 'v1', 'nodes')!;
const PODS = () => findResource('', 'v1', 'pods')!;

/** kubelet endpoint of a node: InternalIP first, then Hostname/ExternalIP; port from daemonEndpoints (10250). */
export function kubeletEndpoint(node: KObject): KubeletEndpoint | undefined {
  const addrs = (node.status?.addresses ?? []) as { type: string; address: string }[];
  const pick = ['InternalIP', 'Hostname', 'ExternalIP'].map((t) => addrs.find((a) => a.type === t)).find(Boolean);
  if (!pick) return undefined;
  return { nodeName: node.metadata.name!, host: pick.address, port: Number(node.status?.daemonEndpoints?.kubeletEndpoint?.Port) || 10250 };
}

function isReady(node: KObject): boolean {
  return ((node.status?.conditions ?? []) as { type: string; status: string }[]).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** RFC 3339 with second precision, as metav1.Time marshals. */
const rfc3339 = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/** A Go `time.Duration.String()` of whole milliseconds (`15.012s`, `1m0.5s`, `800ms`), as metav1.Duration marshals. */
export function goDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3600_000);
  const m = Math.floor((ms % 3600_000) / 60_000);
  const s = ((ms % 60_000) / 1000).toFixed(3).replace(/\.?0+$/, '');
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${s}s`;
}

/** A reading as the non-negative integer metrics-server's `uint64(value)` makes of it (NaN and negatives → 0). */
const count = (v: number): bigint => (Number.isFinite(v) && v > 0 ? BigInt(Math.floor(v)) : 0n);

/**
 * CPU nanocores as metrics-server prints them: `resource.NewScaledQuantity(n, -9)`, DecimalSI, canonical — `123n`,
 * `5u`, `250m`, `1500m`, `2`.
 */
export function cpuQuantity(nanoCores: number): string {
  return formatQuantity(newScaledQuantity(count(nanoCores), -9, 'DecimalSI'));
}

/**
 * Working-set bytes as metrics-server prints them: `resource.NewScaledQuantity(n, 0)` with BinarySI, canonical —
 * `1536Ki`, `64Mi`, `1025` (not a multiple of 1024), and DecimalSI below 1024 as upstream's `CanonicalizeBytes`
 * does (`1000` bytes → `1k`).
 */
export function memoryQuantity(bytes: number): string {
  return formatQuantity(newScaledQuantity(count(bytes), 0, 'BinarySI'));
}

const usage = (u: Pick<Usage, 'cpuNanoCores' | 'memoryBytes'>) => ({ cpu: cpuQuantity(u.cpuNanoCores), memory: memoryQuantity(u.memoryBytes) });

function metaOf(obj: KObject, now: number): Record<string, unknown> {
  const m: Record<string, unknown> = { name: obj.metadata.name };
  if (obj.metadata.namespace) m.namespace = obj.metadata.namespace;
  m.creationTimestamp = rfc3339(now);
  if (obj.metadata.labels && Object.keys(obj.metadata.labels).length) m.labels = obj.metadata.labels;
  return m;
}

function nodeMetrics(node: KObject, u: Usage, now: number): KObject {
  return { kind: 'NodeMetrics', apiVersion: METRICS_API_VERSION, metadata: metaOf(node, now) as KObject['metadata'], timestamp: rfc3339(u.timestampMs), window: goDuration(u.windowMs), usage: usage(u) };
}

function podMetrics(pod: KObject, u: PodUsage, now: number): KObject {
  return {
    kind: 'PodMetrics', apiVersion: METRICS_API_VERSION, metadata: metaOf(pod, now) as KObject['metadata'],
    timestamp: rfc3339(u.timestampMs), window: goDuration(u.windowMs),
    containers: u.containers.map((c) => ({ name: c.name, usage: usage(c) })),
  };
}

/** Field selectors metrics-server accepts: metadata.name and metadata.namespace, `=`, `==` or `!=`. */
function fieldMatcher(sel: FieldSelector, kind: string): (o: KObject) => boolean {
  for (const t of sel.terms) {
    if (t.field !== 'metadata.name' && t.field !== 'metadata.namespace') {
      throw errors.badRequest(`field label not supported: ${t.field} (${kind} supports metadata.name and metadata.namespace)`);
    }
  }
  return (o) => sel.terms.every((t) => {
    const v = (t.field === 'metadata.name' ? o.metadata.name : o.metadata.namespace) ?? '';
    return t.op === '!=' ? v !== t.value : v === t.value;
  });
}

/** The metrics API of one apiserver: scrape loop, storage and request handling. */
export class MetricsApi {
  readonly storage = new MetricsStorage();
  private readonly resolutionMs: number;
  private readonly firstWindowMs: number;
  private readonly scrapeTimeoutMs: number;
  private readonly fetchMetrics: (ep: KubeletEndpoint) => Promise<string>;
  private started?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private scraping?: Promise<void>;
  private closed = false;

  constructor(private readonly core: ApiServerCore, o: MetricsApiOptions = {}) {
    this.resolutionMs = o.resolutionMs ?? 15_000;
    this.firstWindowMs = o.firstWindowMs ?? 1000;
    this.scrapeTimeoutMs = o.scrapeTimeoutMs ?? 10_000;
    this.fetchMetrics = o.fetchMetrics ?? ((ep) => this.httpsFetch(ep));
  }

  /** Stops the scrape loop. */
  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
  }

  private httpsFetch(ep: KubeletEndpoint): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = https.request({ host: ep.host, port: ep.port, path: '/metrics/resource', method: 'GET', ...kubeletTlsOptions(this.core), agent: false, timeout: this.scrapeTimeoutMs }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => { body += d; });
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`kubelet answered ${res.statusCode}: ${body.trim().slice(0, 200)}`))));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer in ${this.scrapeTimeoutMs} ms`)));
      req.on('error', reject);
      req.end();
    });
  }

  /** Scrapes every Ready node once (concurrent calls share one scrape). */
  scrape(): Promise<void> {
    this.scraping ??= this.scrapeAll().finally(() => { this.scraping = undefined; });
    return this.scraping;
  }

  private async scrapeAll(): Promise<void> {
    const nodes = (await this.core.registry.list(NODES(), {})).items.filter(isReady);
    this.storage.retainNodes(new Set(nodes.map((n) => n.metadata.name!)));
    await Promise.all(nodes.map(async (node) => {
      const ep = kubeletEndpoint(node);
      if (!ep) {
        this.core.log('metrics: node has no address to scrape', { node: node.metadata.name });
        return;
      }
      try {
        const text = await this.fetchMetrics(ep);
        this.storage.store(ep.nodeName, decodeResourceMetrics(text, Date.now()));
      } catch (err) {
        this.core.log('metrics: scraping the kubelet failed', { node: ep.nodeName, endpoint: `${ep.host}:${ep.port}`, error: (err as Error).message });
      }
    }));
  }

  /** Starts scraping on first use: two scrapes `firstWindowMs` apart, then every `resolutionMs`. */
  private ensureStarted(): Promise<void> {
    this.started ??= (async () => {
      await this.scrape();
      await new Promise((r) => setTimeout(r, this.firstWindowMs));
      await this.scrape();
      if (this.closed) return;
      this.timer = setInterval(() => {
        this.scrape().catch((err: Error) => this.core.log('metrics: scrape failed', { error: err.message }));
      }, this.resolutionMs);
      this.timer.unref();
    })().catch((err: Error) => {
      this.started = undefined; // retried by the next request
      throw err;
    });
    return this.started;
  }

  /** Serves a request under /apis/metrics.k8s.io. */
  async serve(req: IncomingMessage, res: ServerResponse, ri: ResourceRequest, query: URLSearchParams): Promise<void> {
    if (ri.version !== METRICS_VERSION) throw errors.notFoundPath();
    const nodes = ri.resource === 'nodes';
    if ((!nodes && ri.resource !== 'pods') || ri.subresource !== undefined) throw errors.notFoundPath();
    if (nodes && ri.namespace !== undefined) throw errors.notFoundPath();
    if (!nodes && ri.name !== undefined && ri.namespace === undefined) throw errors.notFoundPath();
    if (ri.verb !== 'get' && ri.verb !== 'list') throw errors.methodNotAllowed(`${ri.verb} is not supported on resources of kind "${nodes ? 'nodes' : 'pods'}.${METRICS_GROUP}"`);
    const neg = negotiate(req.headers.accept, { allowTable: true, allowProtobuf: false });
    await this.ensureStarted();
    const now = Date.now();
    const kind = nodes ? 'NodeMetrics' : 'PodMetrics';
    const resource = nodes ? 'nodes' : 'pods';

    if (ri.verb === 'get') {
      const obj = await this.core.registry.tryGet(nodes ? NODES() : PODS(), ri.namespace, ri.name!);
      const nu = obj && nodes ? this.storage.nodeUsage(ri.name!) : undefined;
      const pu = obj && !nodes ? this.storage.podUsage(ri.namespace!, ri.name!) : undefined;
      const row = obj && (nu ? nodeRow(obj, nu, now) : pu ? podRow(obj, pu, now) : undefined);
      if (!row) throw errors.notFound(resource, METRICS_GROUP, ri.name!);
      writeObject(res, 200, neg.shape === 'table' ? toTable([row]) : row.obj, neg);
      return;
    }

    const preds: Array<(o: KObject) => boolean> = [];
    const ls = query.get('labelSelector');
    if (ls) {
      const sel = parseLabelSelector(ls);
      preds.push((o) => labelsMatch(sel, o.metadata.labels));
    }
    const fs = query.get('fieldSelector');
    if (fs) preds.push(fieldMatcher(parseFieldSelector(fs), kind));
    const list = await this.core.registry.list(nodes ? NODES() : PODS(), { namespace: ri.namespace, filter: preds.length ? (o) => preds.every((p) => p(o)) : undefined });
    const rows: Row[] = [];
    for (const obj of list.items) {
      const nu = nodes ? this.storage.nodeUsage(obj.metadata.name!) : undefined;
      const pu = nodes ? undefined : this.storage.podUsage(obj.metadata.namespace!, obj.metadata.name!);
      if (nu) rows.push(nodeRow(obj, nu, now));
      if (pu) rows.push(podRow(obj, pu, now));
    }
    rows.sort((a, b) => (a.obj.metadata.namespace ?? '').localeCompare(b.obj.metadata.namespace ?? '') || a.obj.metadata.name!.localeCompare(b.obj.metadata.name!));
    const out = { kind: `${kind}List`, apiVersion: METRICS_API_VERSION, metadata: {}, items: rows.map((r) => r.obj) };
    writeObject(res, 200, neg.shape === 'table' ? toTable(rows) : out, neg);
  }
}

/** A metrics object with its totals, for the Table form. */
interface Row {
  obj: KObject;
  cpuNanoCores: number;
  memoryBytes: number;
}

/** A server-side Table (`kubectl get pods.metrics.k8s.io`): name, CPU, memory (pods: summed over containers), window. */
function toTable(rows: Row[]): unknown {
  const col = (name: string, description: string) => ({ name, type: 'string', format: name === 'Name' ? 'name' : '', description, priority: 0 });
  return {
    kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: {},
    columnDefinitions: [col('Name', 'Name of the resource'), col('CPU', 'CPU usage'), col('Memory', 'Memory usage'), col('Window', 'Window of the CPU rate')],
    rows: rows.map((r) => ({
      cells: [r.obj.metadata.name, cpuQuantity(r.cpuNanoCores), memoryQuantity(r.memoryBytes), r.obj.window],
      object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: r.obj.metadata },
    })),
  };
}

function nodeRow(node: KObject, u: Usage, now: number): Row {
  return { obj: nodeMetrics(node, u, now), cpuNanoCores: u.cpuNanoCores, memoryBytes: u.memoryBytes };
}

function podRow(pod: KObject, u: PodUsage, now: number): Row {
  return {
    obj: podMetrics(pod, u, now),
    cpuNanoCores: u.containers.reduce((n, c) => n + c.cpuNanoCores, 0),
    memoryBytes: u.containers.reduce((n, c) => n + c.memoryBytes, 0),
  };
}

const APIS = new WeakMap<ApiServerCore, MetricsApi>();

/** Replaces `core`'s metrics API with one built from `o` (tests; call before the first metrics request). */
export function configureMetricsApi(core: ApiServerCore, o: MetricsApiOptions): MetricsApi {
  APIS.get(core)?.close();
  const api = new MetricsApi(core, o);
  APIS.set(core, api);
  return api;
}

/** `core`'s metrics API, created with defaults on first use. */
export function metricsApiFor(core: ApiServerCore): MetricsApi {
  let api = APIS.get(core);
  if (!api) APIS.set(core, (api = new MetricsApi(core)));
  return api;
}

/** The hook core.ts calls for resource requests under /apis/metrics.k8s.io. */
export function serveMetricsApi(core: ApiServerCore, req: IncomingMessage, res: ServerResponse, ri: ResourceRequest, query: URLSearchParams): Promise<void> {
  return metricsApiFor(core).serve(req, res, ri, query);
}
