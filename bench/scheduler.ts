/**
 * `npm run bench:scheduler -- --nodes N --pods M --workload basic`: scheduler throughput through the real API, printed
 * as one JSON line `{"workload","nodes","pods","podsPerSecond","p50Ms","p99Ms"}` (issue "Scheduler", targets: basic
 * 5,000 nodes / 10,000 pods ≥ 2,000 pods/s on 2 cores; kube-scheduler's scheduler_perf gate is 680).
 *
 * An apiserver runs in this process on the memory store (as `src/controllers/testing.ts` does); N simulated Node
 * objects with capacity are created through the API, then the scheduler is started and M pods are created through the
 * API while it runs. A pod watch records when each pod gets `spec.nodeName`; latency is creation request → binding
 * seen on the watch; throughput is M / (last binding − first creation).
 *
 * Workloads: `basic` (1 CPU-less container, small requests). Others in the issue (anti-affinity, topology-spread,
 * preemption, gang) arrive with their plugins.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { loadKubeconfig } from '../src/client/config.js';
import { DynamicClient } from '../src/client/dynamic.js';
import { startScheduler } from '../src/scheduler/index.js';
import { startServer } from '../src/server/server.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '5000' },
    pods: { type: 'string', default: '10000' },
    workload: { type: 'string', default: 'basic' },
    concurrency: { type: 'string', default: '64' },
    /** Internal: run only the apiserver on this data dir (the child process). */
    serve: { type: 'string' },
    /** Run the apiserver in this process instead of a child process. */
    'in-process': { type: 'boolean', default: false },
  },
});
const NODES = Number(values.nodes);
const PODS = Number(values.pods);
const WORKLOAD = values.workload!;
const CONC = Number(values.concurrency);
if (WORKLOAD !== 'basic') {
  console.error(`workload ${WORKLOAD} is not implemented yet (available: basic)`);
  process.exit(2);
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

async function pool<T>(n: number, conc: number, fn: (i: number) => Promise<T>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(conc, n) }, async () => {
    while (next < n) await fn(next++);
  }));
}

function pct(xs: number[], p: number): number {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/**
 * The apiserver runs in a child process by default — as in a real cluster, where the scheduler is its own process
 * (or its own core inside `skiff server`) — so the two event loops use the two cores. `--in-process` keeps one loop.
 */
async function startApiserver(dataDir: string): Promise<{ kubeconfig: string; close(): Promise<void> }> {
  if (values['in-process']) {
    const server = await startServer({ dataDir, datastore: 'memory://', httpsPort: 0, logLevel: 'error', disableControllerManager: true, disableScheduler: true });
    return { kubeconfig: server.kubeconfigPath, close: () => server.close() };
  }
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--serve', dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const kubeconfig = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => { out += d; const m = /^KUBECONFIG (\S+)$/m.exec(out); if (m) resolve(m[1]!); });
    child.on('exit', (c) => reject(new Error(`apiserver child exited ${c}`)));
  });
  return {
    kubeconfig,
    close: () => new Promise((r) => { child.once('exit', () => r()); child.kill('SIGTERM'); }),
  };
}

async function serve(dataDir: string): Promise<void> {
  const server = await startServer({ dataDir, datastore: 'memory://', httpsPort: 0, logLevel: 'error', disableControllerManager: true, disableScheduler: true });
  console.log(`KUBECONFIG ${server.kubeconfigPath}`);
  process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'skiff-bench-sched-'));
  const server = await startApiserver(dataDir);
  const client = new DynamicClient(loadKubeconfig(server.kubeconfig), { rateLimit: false });
  const nodes = client.resource<Node>('v1', 'Node');
  const pods = client.resource<Pod>('v1', 'Pod');
  try {
    await pool(NODES, CONC, async (i) => {
      const res = { cpu: '32', memory: '256Gi', pods: '110', 'ephemeral-storage': '1Ti' };
      await nodes.create(undefined, {
        apiVersion: 'v1', kind: 'Node',
        metadata: { name: `node-${i}`, labels: { 'kubernetes.io/hostname': `node-${i}`, 'topology.kubernetes.io/zone': `zone-${i % 3}` } },
        status: { capacity: res, allocatable: res, conditions: [{ type: 'Ready', status: 'True' }] },
      } as Node);
    });

    const created = new Map<string, number>();
    const bound = new Map<string, number>();
    let resolveAll!: () => void;
    const all = new Promise<void>((r) => { resolveAll = r; });
    const watch = pods.watch('bench', { resourceVersion: '0' }, (ev) => {
      if (ev.type !== 'ADDED' && ev.type !== 'MODIFIED') return;
      const p = ev.object as Pod;
      const name = p.metadata?.name ?? '';
      if (p.spec?.nodeName && !bound.has(name)) {
        bound.set(name, performance.now());
        if (bound.size === PODS) resolveAll();
      }
    }, () => {});

    const sched = startScheduler({ client, leaderElection: false, logger: quiet });
    for (let i = 0; sched.scheduler?.cache.nodeCount() !== NODES; i++) {
      if (i > 6000) throw new Error('scheduler did not see all nodes');
      await new Promise((r) => setTimeout(r, 10));
    }
    await client.resource('v1', 'Namespace').create(undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } });

    const t0 = performance.now();
    await pool(PODS, CONC, async (i) => {
      const name = `pod-${i}`;
      created.set(name, performance.now());
      await pods.create('bench', {
        apiVersion: 'v1', kind: 'Pod',
        metadata: { name, namespace: 'bench', labels: { app: 'bench' } },
        spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu: '100m', memory: '128Mi' } } }] },
      });
    });
    await all;
    const elapsed = (performance.now() - t0) / 1000;
    const lat = [...bound].map(([n, t]) => t - created.get(n)!);
    watch.abort();
    await sched.stop();
    console.log(JSON.stringify({
      workload: WORKLOAD, nodes: NODES, pods: PODS,
      podsPerSecond: Math.round(PODS / elapsed),
      p50Ms: Math.round(pct(lat, 50)), p99Ms: Math.round(pct(lat, 99)),
    }));
  } finally {
    client.close();
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (values.serve) {
  void serve(values.serve);
} else {
  main().then(() => process.exit(0), (err) => {
    console.error(err);
    process.exit(1);
  });
}
