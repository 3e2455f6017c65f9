/**
 * Prometheus metrics with kube-apiserver's names where they exist: apiserver_request_total and
 * apiserver_request_duration_seconds by verb/group/version/resource/subresource/scope/code,
 * apiserver_longrunning_requests and apiserver_registered_watchers for watches, and
 * etcd_request_duration_seconds{operation,type} for store latency (the store is our etcd).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Backend } from '../store/types.js';

export class ApiMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'apiserver_request_total',
    help: 'Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.',
    labelNames: ['verb', 'dry_run', 'group', 'version', 'resource', 'subresource', 'scope', 'component', 'code'],
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'apiserver_request_duration_seconds',
    help: 'Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.',
    labelNames: ['verb', 'dry_run', 'group', 'version', 'resource', 'subresource', 'scope', 'component'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60],
    registers: [this.registry],
  });
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
  readonly storeLatency = new Histogram({
    name: 'etcd_request_duration_seconds',
    help: 'Etcd request latency in seconds for each operation and object type.',
    labelNames: ['operation', 'type'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /**
   * Wraps a backend so every operation is timed into etcd_request_duration_seconds. `type` is the key's resource
   * prefix (e.g. /registry/pods), as upstream labels by object type.
   */
  instrumentBackend(b: Backend): Backend {
    const h = this.storeLatency;
    const typeOf = (key: string) => key.split('/').slice(0, key.startsWith('/registry/') && key.split('/').length > 4 && key.split('/')[2].includes('.') ? 4 : 3).join('/');
    const timed = <T>(op: string, key: string, p: Promise<T>): Promise<T> => {
      const end = h.startTimer({ operation: op, type: typeOf(key) });
      return p.finally(() => end());
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
