import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { formatResourceMetrics, goFloat, PROMETHEUS_TEXT, type ContainerUsage, type NodeUsage, type ResourceStatsProvider } from './resource-metrics.js';
import { startStreamingServer, type StreamingServer } from './streaming-server.js';
import { ProcessRuntime } from '../runtime/process/process-runtime.js';
import { LABEL_CONTAINER_NAME, LABEL_POD_NAME, LABEL_POD_NAMESPACE, LABEL_POD_UID } from '../pod-worker.js';

const T = 1_700_000_000_000; // ms
const ns = (msec: number) => msec * 1e6;

test('goFloat writes floats as Go strconv g/-1 (Prometheus expfmt)', () => {
  const cases: Array<[number, string]> = [
    [0, '0'], [1, '1'], [2.5, '2.5'], [123456, '123456'], [1234567, '1.234567e+06'], [12582912, '1.2582912e+07'],
    [1.7e9, '1.7e+09'], [0.0001, '0.0001'], [0.00001, '1e-05'], [-3, '-3'], [Infinity, '+Inf'], [NaN, 'NaN'],
  ];
  for (const [v, want] of cases) assert.equal(goFloat(v), want, String(v));
});

const NODE: NodeUsage = { timestampNs: ns(T), cpuUsageNanos: 1234.5e9, workingSetBytes: 2e9, usageBytes: 3e9, availableBytes: 6e9, startTimeNs: ns(T - 3600_000) };
const c = (pod: string, container: string, cpuSec: number, mem: number, id = `${pod}-${container}`): ContainerUsage => ({
  id, namespace: 'default', pod, podUid: `uid-${pod}`, container, startTimeNs: ns(T - 60_000),
  cpu: { timestamp: ns(T), usageCoreNanoSeconds: cpuSec * 1e9 }, memory: { timestamp: ns(T), workingSetBytes: mem, usageBytes: mem * 2 },
});

test('/metrics/resource text matches the kubelet 1.32 families, labels and timestamps', () => {
  const text = formatResourceMetrics(NODE, [c('web', 'sidecar', 0.5, 1024), c('web', 'app', 2, 4096), c('a"b', 'x', 1, 1)]);
  assert.equal(text, `# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds
# TYPE container_cpu_usage_seconds_total counter
container_cpu_usage_seconds_total{container="x",namespace="default",pod="a\\"b"} 1 ${T}
container_cpu_usage_seconds_total{container="app",namespace="default",pod="web"} 2 ${T}
container_cpu_usage_seconds_total{container="sidecar",namespace="default",pod="web"} 0.5 ${T}
# HELP container_memory_working_set_bytes [STABLE] Current working set of the container in bytes
# TYPE container_memory_working_set_bytes gauge
container_memory_working_set_bytes{container="x",namespace="default",pod="a\\"b"} 1 ${T}
container_memory_working_set_bytes{container="app",namespace="default",pod="web"} 4096 ${T}
container_memory_working_set_bytes{container="sidecar",namespace="default",pod="web"} 1024 ${T}
# HELP container_start_time_seconds [STABLE] Start time of the container since unix epoch in seconds
# TYPE container_start_time_seconds gauge
container_start_time_seconds{container="x",namespace="default",pod="a\\"b"} 1.69999994e+09 ${T - 60_000}
container_start_time_seconds{container="app",namespace="default",pod="web"} 1.69999994e+09 ${T - 60_000}
container_start_time_seconds{container="sidecar",namespace="default",pod="web"} 1.69999994e+09 ${T - 60_000}
# HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the node in core-seconds
# TYPE node_cpu_usage_seconds_total counter
node_cpu_usage_seconds_total 1234.5 ${T}
# HELP node_memory_working_set_bytes [STABLE] Current working set of the node in bytes
# TYPE node_memory_working_set_bytes gauge
node_memory_working_set_bytes 2e+09 ${T}
# HELP pod_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the pod in core-seconds
# TYPE pod_cpu_usage_seconds_total counter
pod_cpu_usage_seconds_total{namespace="default",pod="a\\"b"} 1 ${T}
pod_cpu_usage_seconds_total{namespace="default",pod="web"} 2.5 ${T}
# HELP pod_memory_working_set_bytes [STABLE] Current working set of the pod in bytes
# TYPE pod_memory_working_set_bytes gauge
pod_memory_working_set_bytes{namespace="default",pod="a\\"b"} 1 ${T}
pod_memory_working_set_bytes{namespace="default",pod="web"} 5120 ${T}
# HELP resource_scrape_error [STABLE] 1 if there was an error while getting container metrics, 0 otherwise
# TYPE resource_scrape_error gauge
resource_scrape_error 0
`);
});

function get(base: string, path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(base + path, { method }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const noBackend = { containerId: () => undefined, sandboxId: () => undefined, logPath: () => undefined };
const servers: StreamingServer[] = [];
const dir = mkdtempSync('/tmp/skiff-resmetrics-');
const rt = new ProcessRuntime({ stateDir: join(dir, 'state'), isolation: 'none' });
after(async () => {
  for (const s of servers) await s.close();
  await rt.purge();
  await rt.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the streaming server serves /metrics/resource and /stats/summary from a provider', async () => {
  let cpu = 10;
  let nodeCpu = 1000;
  let now = T;
  const provider: ResourceStatsProvider = {
    nodeName: 'n1',
    containers: async () => [{ ...c('web', 'app', cpu, 4096), cpu: { timestamp: ns(now), usageCoreNanoSeconds: cpu * 1e9 } }],
    node: async () => ({ ...NODE, timestampNs: ns(now), cpuUsageNanos: nodeCpu * 1e9 }),
  };
  const s = await startStreamingServer({ runtime: rt, backend: noBackend, port: 0, stats: provider });
  servers.push(s);
  const m = await get(s.url, '/metrics/resource');
  assert.equal(m.status, 200);
  assert.equal(m.type, PROMETHEUS_TEXT);
  assert.match(m.body, /^container_cpu_usage_seconds_total\{container="app",namespace="default",pod="web"\} 10 \d+$/m);

  const first = JSON.parse((await get(s.url, '/stats/summary')).body);
  assert.equal(first.node.nodeName, 'n1');
  assert.equal(first.node.cpu.usageCoreNanoSeconds, 1000e9);
  assert.equal(first.node.cpu.usageNanoCores, undefined, 'no rate from one reading');
  assert.deepEqual(first.pods[0].podRef, { name: 'web', namespace: 'default', uid: 'uid-web' });
  assert.equal(first.pods[0].containers[0].memory.workingSetBytes, 4096);
  // 10 s later: the container used 5 s of CPU (0.5 cores), the node 20 s (2 cores).
  cpu += 5; nodeCpu += 20; now += 10_000;
  const second = JSON.parse((await get(s.url, '/stats/summary')).body);
  assert.equal(second.pods[0].containers[0].cpu.usageNanoCores, 500_000_000);
  assert.equal(second.pods[0].cpu.usageNanoCores, 500_000_000);
  assert.equal(second.node.cpu.usageNanoCores, 2_000_000_000);
  assert.equal((await get(s.url, '/metrics/resource', 'POST')).status, 405);

  const off = await startStreamingServer({ runtime: rt, backend: noBackend, port: 0, stats: false });
  servers.push(off);
  assert.equal((await get(off.url, '/metrics/resource')).status, 404);
});

test('with the process runtime, a busy container shows CPU and memory in /metrics/resource', async () => {
  const sb = await rt.runPodSandbox({ metadata: { name: 'busy', namespace: 'team', uid: 'u-busy' }, logDirectory: join(dir, 'logs') });
  const labels = { [LABEL_POD_NAME]: 'busy', [LABEL_POD_NAMESPACE]: 'team', [LABEL_POD_UID]: 'u-busy', [LABEL_CONTAINER_NAME]: 'spin' };
  const id = await rt.createContainer(sb, {
    metadata: { name: 'spin' }, labels, logPath: 'spin/0.log',
    command: ['/bin/sh', '-c', 'i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; echo spun; exec sleep 60'],
  });
  await rt.startContainer(id);
  // A container without pod labels (not the kubelet's) is left out.
  const stray = await rt.createContainer(sb, { metadata: { name: 'stray' }, command: ['sleep', '60'], logPath: 'stray/0.log' });
  await rt.startContainer(stray);
  const s = await startStreamingServer({ runtime: rt, backend: noBackend, port: 0, nodeName: 'Node-A' });
  servers.push(s);
  const deadline = Date.now() + 60_000;
  let body = '';
  for (;;) {
    body = (await get(s.url, '/metrics/resource')).body;
    const m = /^container_cpu_usage_seconds_total\{container="spin",namespace="team",pod="busy"\} (\S+) \d+$/m.exec(body);
    if (m && Number(m[1]) >= 0.05) break;
    if (Date.now() > deadline) assert.fail(`no CPU usage for the busy container:\n${body}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.match(body, /^container_memory_working_set_bytes\{container="spin",namespace="team",pod="busy"\} [1-9]\S* \d+$/m);
  assert.match(body, /^pod_cpu_usage_seconds_total\{namespace="team",pod="busy"\} \S+ \d+$/m);
  assert.match(body, /^node_cpu_usage_seconds_total [1-9]\S* \d+$/m);
  assert.match(body, /^node_memory_working_set_bytes [1-9]\S* \d+$/m);
  assert.doesNotMatch(body, /stray/);
  const summary = JSON.parse((await get(s.url, '/stats/summary')).body);
  assert.equal(summary.node.nodeName, 'node-a');
  assert.deepEqual(summary.pods.map((p: { podRef: unknown }) => p.podRef), [{ name: 'busy', namespace: 'team', uid: 'u-busy' }]);
  const stats = await rt.containerStats(id);
  assert.equal(stats.attributes.metadata.name, 'spin');
  assert.ok(stats.cpu!.usageCoreNanoSeconds! > 0 && stats.memory!.workingSetBytes! > 0);
  await rt.stopContainer(id, 0);
  assert.deepEqual((await rt.listContainerStats({ labelSelector: { [LABEL_POD_NAME]: 'busy' } })).length, 0, 'stopped containers have no stats');
  assert.deepEqual(await rt.containerStats(id), { attributes: stats.attributes });
});
