/**
 * Prometheus metrics with kube-apiserver's names where they exist: apiserver_request_total and
 * apiserver_request_duration_seconds by verb/group/version/resource/subresource/scope/code,
 * apiserver_longrunning_requests and apiserver_registered_watchers for watches, and
 * etcd_request_duration_seconds{operation,type} for store latency (the store is our etcd).
 */
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Backend } from '../store/types.js';

export class ApiMetrics {
  readonly registry = new Registry();
  // The two per-request metrics and the store latency are on every request's path: they are kept by the small
  // classes below (a Map lookup per observation) instead of prom-client's, which validate and sort labels per call.
  readonly requests = new FastCounter(this.registry, 'apiserver_request_total',
    'Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.',
    ['verb', 'dry_run', 'group', 'version', 'resource', 'subresource', 'scope', 'component', 'code']);
  readonly duration = new FastHistogram(this.registry, 'apiserver_request_duration_seconds',
    'Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.',
    ['verb', 'dry_run', 'group', 'version', 'resource', 'subresource', 'scope', 'component'],
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60]);
  readonly watchers = new Gauge({
    name: 'apiserver_registered_watchers',
    help: 'Number of currently registered watchers for a given resources',
    labelNames: ['group', 'version', 'kind'],
    registers: [this.registry],
  });
  readonly longRunning = new Gauge({
    name: 'apiserver_longrunning_requests',
    help: 'Gauge of all active long-running apiserver requests broken out by verb, group, version, resource, scope and component.',
    labelNames: ['verb', 'group', 'version', 'resource', 'subresource', 'scope', 'component'],
    registers: [this.registry],
  });
  readonly storeLatency = new FastHistogram(this.registry, 'etcd_request_duration_seconds',
    'Etcd request latency in seconds for each operation and object type.',
    ['operation', 'type'],
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]);

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /**
   * Wraps a backend so every operation is timed into etcd_request_duration_seconds. `type` is the key's resource
   * prefix (e.g. /registry/pods), as upstream labels by object type.
   */
  instrumentBackend(b: Backend): Backend {
    const h = this.storeLatency;
    const typeOf = storeKeyType;
    const timed = <T>(op: string, key: string, p: Promise<T>): Promise<T> => {
      const end = h.startTimer({ operation: op, type: typeOf(key) });
      // then(ok, fail) rather than finally(): one promise and one microtask less per store operation.
      return p.then((v) => { end(); return v; }, (e: unknown) => { end(); throw e; });
    };
    return {
      start: () => b.start(),
      close: () => b.close(),
      get: (k, r) => timed('get', k, b.get(k, r)),
      list: (p, o) => timed('list', p, b.list(p, o)),
      count: (p) => timed('count', p, b.count(p)),
      create: (k, v) => timed('create', k, b.create(k, v)),
      update: (k, v, r) => timed('update', k, b.update(k, v, r)),
      delete: (k, r) => timed('delete', k, b.delete(k, r)),
      watch: (p, r, c) => b.watch(p, r, c),
      compact: (r) => timed('compact', '/registry', b.compact(r)),
      currentRevision: () => b.currentRevision(),
      compactRevision: () => b.compactRevision(),
    };
  }
}

/**
 * The object type of a store key for etcd_request_duration_seconds: its first three `/`-separated parts
 * (`/registry/pods`), four for a dotted group (`/registry/apps.example.com/widgets`). Index arithmetic, not
 * split/join: it runs for every store operation.
 */
export function storeKeyType(key: string): string {
  const p1 = key.indexOf('/');
  const p2 = p1 < 0 ? -1 : key.indexOf('/', p1 + 1);
  const p3 = p2 < 0 ? -1 : key.indexOf('/', p2 + 1);
  if (p3 < 0) return key;
  const p4 = key.indexOf('/', p3 + 1);
  if (p4 >= 0 && key.startsWith('/registry/') && key.slice(p2 + 1, p3).includes('.')) return key.slice(0, p4);
  return key.slice(0, p3);
}

type Labels = Record<string, string>;
interface MetricValue { labels: Record<string, string | number>; value: number; metricName?: string }

/**
 * Series by label values, one Map level per label name (in label-name order; a missing label counts as ''): a
 * lookup is a few Map reads of strings that are mostly constants, instead of building and hashing a joined key
 * on every observation.
 */
class SeriesIndex<T> {
  private readonly root = new Map<string, unknown>();
  constructor(private readonly names: readonly string[]) {}

  get(labels: Labels): T | undefined {
    let m: Map<string, unknown> | undefined = this.root;
    const names = this.names;
    const last = names.length - 1;
    for (let i = 0; i < last; i++) {
      m = m.get(labelValue(labels[names[i]!])) as Map<string, unknown> | undefined;
      if (m === undefined) return undefined;
    }
    return m.get(labelValue(labels[names[last]!])) as T | undefined;
  }

  set(labels: Labels, value: T): void {
    let m = this.root;
    const names = this.names;
    const last = names.length - 1;
    for (let i = 0; i < last; i++) {
      const v = labelValue(labels[names[i]!]);
      let next = m.get(v) as Map<string, unknown> | undefined;
      if (next === undefined) m.set(v, (next = new Map()));
      m = next;
    }
    m.set(labelValue(labels[names[last]!]), value);
  }

  clear(): void {
    this.root.clear();
  }
}

function labelValue(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
}

function pickLabels(names: readonly string[], labels: Labels): Labels {
  const out: Labels = {};
  for (const n of names) if (labels[n] !== undefined) out[n] = String(labels[n]);
  return out;
}

/** A counter exposed like prom-client's (registered in a prom-client Registry), cheap to increment. */
export class FastCounter {
  readonly type = 'counter';
  readonly aggregator = 'sum';
  /** Every series, in creation order (for exposition). */
  private readonly series: Array<{ labels: Labels; value: number }> = [];
  private readonly index: SeriesIndex<{ labels: Labels; value: number }>;

  constructor(registry: Registry, readonly name: string, readonly help: string, private readonly labelNames: readonly string[]) {
    this.index = new SeriesIndex(labelNames);
    registry.registerMetric(this as never);
  }

  inc(labels: Labels, value = 1): void {
    const s = this.index.get(labels);
    if (s) s.value += value;
    else {
      const n = { labels: pickLabels(this.labelNames, labels), value };
      this.index.set(labels, n);
      this.series.push(n);
    }
  }

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: MetricValue[] }> {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.series.map((s) => ({ labels: { ...s.labels }, value: s.value })) };
  }

  reset(): void {
    this.series.length = 0;
    this.index.clear();
  }
}

/** A histogram exposed like prom-client's (`_bucket` with `le`, `_sum`, `_count`), cheap to observe. */
export class FastHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  /** Every series, in creation order (for exposition). */
  private readonly series: Array<{ labels: Labels; counts: number[]; sum: number; count: number }> = [];
  private readonly index: SeriesIndex<{ labels: Labels; counts: number[]; sum: number; count: number }>;

  constructor(registry: Registry, readonly name: string, readonly help: string, private readonly labelNames: readonly string[], private readonly buckets: readonly number[]) {
    this.index = new SeriesIndex(labelNames);
    registry.registerMetric(this as never);
  }

  observe(labels: Labels, value: number): void {
    let s = this.index.get(labels);
    if (!s) {
      s = { labels: pickLabels(this.labelNames, labels), counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.index.set(labels, s);
      this.series.push(s);
    }
    const b = this.buckets;
    for (let i = 0; i < b.length; i++) {
      if (value <= b[i]!) {
        s.counts[i]!++;
        break;
      }
    }
    s.sum += value;
    s.count++;
  }

  /** Starts a timer; the returned function observes the seconds elapsed. */
  startTimer(labels: Labels): () => number {
    const start = process.hrtime.bigint();
    return () => {
      const v = Number(process.hrtime.bigint() - start) / 1e9;
      this.observe(labels, v);
      return v;
    };
  }

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: MetricValue[] }> {
    const values: MetricValue[] = [];
    for (const s of this.series) {
      let acc = 0;
      for (let i = 0; i < this.buckets.length; i++) {
        acc += s.counts[i]!;
        values.push({ labels: { ...s.labels, le: this.buckets[i]! }, value: acc, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { ...s.labels, le: '+Inf' }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...s.labels }, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.series.length = 0;
    this.index.clear();
  }
}
