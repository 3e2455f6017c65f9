import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { startTestApiserver, type TestApiserver } from '../testing.js';
import { selfSignedCertificate } from '../auth/pki.js';
import { AGGREGATED_CONTENT_TYPE } from '../discovery.js';
import { configureMetricsApi, cpuQuantity, goDuration, memoryQuantity } from './index.js';
import { decodeResourceMetrics, MetricsStorage } from './storage.js';
import { parsePrometheusText } from './prometheus.js';

const T0 = 1_700_000_000_000;
const GiB = 1024 ** 3;

test('quantities and durations print as metrics-server prints them', () => {
  const cpu: Array<[number, string]> = [
    [0, '0'], [123, '123n'], [5000, '5u'], [250_000_000, '250m'], [1_500_000_000, '1500m'], [2e9, '2'], [1_500_000_001, '1500000001n'],
    [123.9, '123n'], [-5, '0'], [NaN, '0'],
  ];
  for (const [v, want] of cpu) assert.equal(cpuQuantity(v), want);
  // BinarySI, except that upstream's CanonicalizeBytes prints values below 1024 as DecimalSI: 1000 bytes is `1k`.
  const mem: Array<[number, string]> = [
    [0, '0'], [1000, '1k'], [1023, '1023'], [1024, '1Ki'], [1025, '1025'], [2000, '2000'], [1536 * 1024, '1536Ki'], [64 * 1024 * 1024, '64Mi'],
    [GiB, '1Gi'], [1.2e7, '12000000'], [3 * 1024 ** 4, '3Ti'],
  ];
  for (const [v, want] of mem) assert.equal(memoryQuantity(v), want);
  const dur: Array<[number, string]> = [[800, '800ms'], [10_000, '10s'], [15_012, '15.012s'], [60_500, '1m0.5s'], [3_600_000, '1h0m0s']];
  for (const [v, want] of dur) assert.equal(goDuration(v), want);
});

test('the Prometheus parser reads labels with escapes, Go floats and optional timestamps', () => {
  assert.deepEqual(parsePrometheusText('# HELP x y\n\nm{a="q\\"u\\\\o\\nte",b="2"} 1.5e+07 1700000000000\nn 3\nk +Inf\n'), [
    { name: 'm', labels: { a: 'q"u\\o\nte', b: '2' }, value: 1.5e7, timestampMs: 1700000000000 },
    { name: 'n', labels: {}, value: 3 },
    { name: 'k', labels: {}, value: Infinity },
  ]);
  assert.throws(() => parsePrometheusText('m{a=1} 2\n'), /malformed labels/);
  assert.throws(() => parsePrometheusText('m two\n'), /bad value/);
});

function kubeletText(n: number, opts: { restartAt?: number } = {}): string {
  const ts = T0 + n * 10_000;
  const restarted = opts.restartAt !== undefined && n >= opts.restartAt;
  const start = restarted ? ts - 2000 : T0 - 60_000;
  const appCpu = restarted ? 1 : n * 5; // 0.5 cores; after a restart 1 s used in the 2 s since start
  return [
    `container_cpu_usage_seconds_total{container="app",namespace="default",pod="web"} ${appCpu} ${ts}`,
    `container_cpu_usage_seconds_total{container="side",namespace="default",pod="web"} ${n * 0.01} ${ts}`,
    `container_cpu_usage_seconds_total{container="db",namespace="data",pod="pg"} ${n * 10} ${ts}`,
    `container_memory_working_set_bytes{container="app",namespace="default",pod="web"} ${64 * 1024 * 1024} ${ts}`,
    `container_memory_working_set_bytes{container="side",namespace="default",pod="web"} ${1024 * 1024} ${ts}`,
    `container_memory_working_set_bytes{container="db",namespace="data",pod="pg"} 1.073741824e+09 ${ts}`,
    `container_start_time_seconds{container="app",namespace="default",pod="web"} ${start / 1000} ${start}`,
    `node_cpu_usage_seconds_total ${1000 + n * 20} ${ts}`,
    `node_memory_working_set_bytes ${2 * GiB} ${ts}`,
    'resource_scrape_error 0',
    '',
  ].join('\n');
}

test('storage: rates between two scrapes, window and timestamp, restarts counted from the start time', () => {
  const st = new MetricsStorage();
  st.store('n1', decodeResourceMetrics(kubeletText(1), 0));
  assert.equal(st.nodeUsage('n1'), undefined, 'one reading gives no rate');
  assert.equal(st.podUsage('default', 'web'), undefined);
  st.store('n1', decodeResourceMetrics(kubeletText(2), 0));
  assert.deepEqual(st.nodeUsage('n1'), { timestampMs: T0 + 20_000, windowMs: 10_000, cpuNanoCores: 2e9, memoryBytes: 2 * GiB });
  assert.deepEqual(st.podUsage('default', 'web')!.containers.map((c) => [c.name, c.cpuNanoCores, c.memoryBytes]), [
    ['app', 500_000_000, 64 * 1024 * 1024],
    ['side', 1_000_000, 1024 * 1024],
  ]);
  st.store('n1', decodeResourceMetrics(kubeletText(3, { restartAt: 3 }), 0));
  const app = st.podUsage('default', 'web')!.containers.find((c) => c.name === 'app')!;
  assert.deepEqual([app.cpuNanoCores, app.windowMs], [500_000_000, 2000]);
  // A pod the node stops reporting is forgotten; so is a node that is no longer scraped.
  st.store('n1', decodeResourceMetrics(kubeletText(4).split('\n').filter((l) => !l.includes('pod="pg"')).join('\n'), 0));
  assert.equal(st.podUsage('data', 'pg'), undefined);
  st.retainNodes(new Set());
  assert.equal(st.nodeUsage('n1'), undefined);
  assert.equal(st.podUsage('default', 'web'), undefined);
});

describe('metrics.k8s.io served by the apiserver', () => {
  let api: TestApiserver;
  let kubelet: https.Server;
  let scrapes = 0;

  before(async () => {
    const cert = await selfSignedCertificate();
    kubelet = https.createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
      if (req.url !== '/metrics/resource') { res.writeHead(404); res.end(); return; }
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(kubeletText(++scrapes));
    });
    await new Promise<void>((r) => kubelet.listen(0, '127.0.0.1', r));
    const port = (kubelet.address() as AddressInfo).port;
    api = await startTestApiserver();
    configureMetricsApi(api.core, { firstWindowMs: 10, resolutionMs: 3_600_000 });
    const node = async (name: string, ready: boolean, labels: Record<string, string>) => {
      const created = await api.request('POST', '/api/v1/nodes', { body: { apiVersion: 'v1', kind: 'Node', metadata: { name, labels } } });
      assert.equal(created.status, 201, created.text);
      const status = {
        conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
        addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
        daemonEndpoints: { kubeletEndpoint: { Port: ready ? port : 1 } },
      };
      const r = await api.request('PUT', `/api/v1/nodes/${name}/status`, { body: { ...created.body, status } });
      assert.equal(r.status, 200, r.text);
    };
    await node('n1', true, { pool: 'gpu' });
    await node('n2', false, { pool: 'cpu' });
    const ns = await api.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'data' } } });
    assert.equal(ns.status, 201, ns.text);
    const pod = async (namespace: string, name: string, labels: Record<string, string>, containers: string[]) => {
      const r = await api.request('POST', `/api/v1/namespaces/${namespace}/pods`, {
        body: { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, spec: { nodeName: 'n1', containers: containers.map((c) => ({ name: c, image: 'busybox' })) } },
      });
      assert.equal(r.status, 201, r.text);
    };
    await pod('default', 'web', { app: 'web' }, ['app', 'side']);
    await pod('data', 'pg', { app: 'pg' }, ['db']);
    await pod('default', 'idle', { app: 'web' }, ['x']); // no metrics reported for it
  });

  after(async () => {
    await api?.close();
    await new Promise<void>((r) => kubelet.close(() => r()));
  });

  test('discovery lists metrics.k8s.io/v1beta1 (aggregated and legacy)', async () => {
    const agg = await api.request('GET', '/apis', { headers: { Accept: `${AGGREGATED_CONTENT_TYPE},application/json` } });
    const group = agg.body.items.find((g: { metadata: { name: string } }) => g.metadata.name === 'metrics.k8s.io');
    assert.ok(group, 'aggregated /apis has metrics.k8s.io');
    assert.equal(group.versions[0].version, 'v1beta1');
    assert.deepEqual(group.versions[0].resources.map((r: { resource: string; scope: string; verbs: string[]; responseKind: { kind: string } }) => [r.resource, r.scope, r.responseKind.kind, r.verbs]), [
      ['nodes', 'Cluster', 'NodeMetrics', ['get', 'list']],
      ['pods', 'Namespaced', 'PodMetrics', ['get', 'list']],
    ]);
    const legacy = await api.request('GET', '/apis');
    assert.ok(legacy.body.groups.some((g: { name: string; preferredVersion: { groupVersion: string } }) => g.name === 'metrics.k8s.io' && g.preferredVersion.groupVersion === 'metrics.k8s.io/v1beta1'));
    assert.equal((await api.request('GET', '/apis/metrics.k8s.io')).body.kind, 'APIGroup');
    const rl = await api.request('GET', '/apis/metrics.k8s.io/v1beta1');
    assert.equal(rl.status, 200);
    assert.deepEqual(rl.body.resources.map((r: { name: string; namespaced: boolean; kind: string }) => [r.name, r.namespaced, r.kind]), [['nodes', false, 'NodeMetrics'], ['pods', true, 'PodMetrics']]);
  });

  test('NodeMetrics: list and get scrape Ready nodes only; a node without metrics is NotFound', async () => {
    const list = await api.request('GET', '/apis/metrics.k8s.io/v1beta1/nodes');
    assert.equal(list.status, 200, list.text);
    assert.equal(list.body.kind, 'NodeMetricsList');
    assert.equal(list.body.apiVersion, 'metrics.k8s.io/v1beta1');
    assert.equal(list.body.items.length, 1);
    const n1 = list.body.items[0];
    assert.equal(n1.kind, 'NodeMetrics');
    assert.equal(n1.metadata.name, 'n1');
    assert.deepEqual(n1.metadata.labels, { pool: 'gpu' });
    assert.deepEqual(n1.usage, { cpu: '2', memory: '2Gi' });
    assert.equal(n1.window, '10s');
    assert.match(n1.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal((await api.request('GET', '/apis/metrics.k8s.io/v1beta1/nodes/n1')).body.usage.cpu, '2');
    const missing = await api.request('GET', '/apis/metrics.k8s.io/v1beta1/nodes/n2');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.message, 'nodes.metrics.k8s.io "n2" not found');
    assert.equal((await api.request('GET', '/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=pool%3Dcpu')).body.items.length, 0);
    assert.equal((await api.request('GET', '/apis/metrics.k8s.io/v1beta1/nodes?fieldSelector=metadata.name%3Dn1')).body.items.length, 1);
  });

  test('PodMetrics: all namespaces, one namespace, selectors, get', async () => {
    const all = await api.request('GET', '/apis/metrics.k8s.io/v1beta1/pods');
    assert.equal(all.status, 200, all.text);
    assert.equal(all.body.kind, 'PodMetricsList');
    assert.deepEqual(all.body.items.map((p: { metadata: { namespace: string; name: string } }) => `${p.metadata.namespace}/${p.metadata.name}`), ['data/pg', 'default/web']);
    const web = all.body.items[1];
    assert.deepEqual(web.metadata.labels, { app: 'web' });
    assert.deepEqual(web.containers, [
      { name: 'app', usage: { cpu: '500m', memory: '64Mi' } },
      { name: 'side', usage: { cpu: '1m', memory: '1Mi' } },
    ]);
    assert.equal(web.window, '10s');
    const inNs = await api.request('GET', '/apis/metrics.k8s.io/v1beta1/namespaces/data/pods');
    assert.deepEqual(inNs.body.items.map((p: { metadata: { name: string } }) => p.metadata.name), ['pg']);
    assert.deepEqual(inNs.body.items[0].containers, [{ name: 'db', usage: { cpu: '1', memory: '1Gi' } }]);
    const byLabel = await api.request('GET', '/apis/metrics.k8s.io/v1beta1/pods?labelSelector=app%20in%20(web)');
    assert.deepEqual(byLabel.body.items.map((p: { metadata: { name: string } }) => p.metadata.name), ['web']);
    const byField = await api.request('GET', '/apis/metrics.k8s.io/v1beta1/pods?fieldSelector=metadata.namespace!%3Ddefault');
    assert.deepEqual(byField.body.items.map((p: { metadata: { name: string } }) => p.metadata.name), ['pg']);
    const get = await api.request('GET', '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web');
    assert.equal(get.body.kind, 'PodMetrics');
    assert.equal(get.body.containers.length, 2);
    const idle = await api.request('GET', '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/idle');
    assert.equal(idle.status, 404);
    assert.equal(idle.body.message, 'pods.metrics.k8s.io "idle" not found');
    assert.equal((await api.request('GET', '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/nope')).status, 404);
  });

  test('a Table for kubectl get, and Status errors for what metrics-server does not serve', async () => {
    const table = await api.request('GET', '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods', { headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' } });
    assert.equal(table.body.kind, 'Table');
    assert.deepEqual(table.body.rows.map((r: { cells: unknown[] }) => r.cells), [['web', '501m', '65Mi', '10s']]);
    const cases: Array<[string, string, number, string]> = [
      ['POST', '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods', 405, 'MethodNotAllowed'],
      ['DELETE', '/apis/metrics.k8s.io/v1beta1/nodes/n1', 405, 'MethodNotAllowed'],
      ['GET', '/apis/metrics.k8s.io/v1beta1/pods?watch=true', 405, 'MethodNotAllowed'],
      ['GET', '/apis/metrics.k8s.io/v1beta1/pods?fieldSelector=spec.nodeName%3Dn1', 400, 'BadRequest'],
      ['GET', '/apis/metrics.k8s.io/v1beta1/pods?labelSelector=%3D%3D', 400, 'BadRequest'],
      ['GET', '/apis/metrics.k8s.io/v1beta1/services', 404, 'NotFound'],
      ['GET', '/apis/metrics.k8s.io/v1/nodes', 404, 'NotFound'],
      ['GET', '/apis/metrics.k8s.io/v1beta1/namespaces/default/nodes', 404, 'NotFound'],
    ];
    for (const [method, path, code, reason] of cases) {
      const r = await api.request(method, path, method === 'POST' ? { body: {} } : {});
      assert.equal(r.status, code, `${method} ${path}: ${r.text}`);
      assert.equal(r.body.kind, 'Status', `${method} ${path}`);
      assert.equal(r.body.reason, reason, `${method} ${path}: ${r.text}`);
    }
  });
});
