/**
 * `npm run bench:scheduler -- --nodes N --pods M --workload basic`: scheduler throughput through the real API, printed
 * as one JSON line `{"workload","nodes","pods","podsPerSecond","p50Ms","p99Ms"}` (issue "Scheduler", targets: basic
 * 5,000 nodes / 10,000 pods ≥ 2,000 pods/s on 2 cores; kube-scheduler's scheduler_perf gate is 680).
 *
 * The apiserver runs in a child process on the memory store (`--in-process` keeps it here); N simulated Node objects
 * with capacity are created through the API, then the scheduler is started in this process and M pods are created
 * through the API by a load-generator thread while it runs; bindings go through `pods/binding`. A pod watch records
 * when each pod gets `spec.nodeName`; throughput is M / (last binding seen − first create request sent).
 *
 * Workloads (each mirrors a scheduler_perf test case):
 * - `basic`: one container with small requests (SchedulingBasic).
 * - `anti-affinity`: pods labelled `color=<g>` (g in 0…groups−1) with required pod anti-affinity on
 *   `kubernetes.io/hostname` against their own color (SchedulingPodAntiAffinity): one pod of a color per node.
 * - `topology-spread`: pods with a DoNotSchedule constraint maxSkew 1 on `topology.kubernetes.io/zone` over nodes
 *   spread across `--zones` zones (SchedulingPodTopologySpreading, hard constraint).
 * - `preemption`: nodes of `--node-cpu` cores are pre-filled (bound at creation) with 1-core pods of PriorityClass
 *   `bench-low`; then M 1-core pods of `bench-high` must each preempt one (PreemptionBasic). The bench plays the
 *   kubelet: victims the scheduler deletes gracefully are force-deleted at once. Extra fields: `preemptions`,
 *   `preemptionsPerSecond`.
 * - `gang`: PodGroups (`scheduling.x-k8s.io/v1alpha1`) of `--gang-size` members with minMember = size, created
 *   through the API before their pods. Extra fields: `groups`, `groupsFullyBound`.
 *
 * Measurement: the clock starts when the first measured pod's create request is sent and stops when the last
 * binding is seen on the watch (so pod creation through the API is part of the measured time); per-pod latency is
 * create request sent → `spec.nodeName` seen on the watch. Node creation, pre-filling and cache sync are not timed,
 * nor are the init pods: as each scheduler_perf test case does (`initPods`), `--init-pods` pods (default: the upstream
 * case's count, see the option) are created and scheduled first, in their own namespace, and the window starts once
 * they are bound and their events written.
 * Extra fields: `schedProcCpuMsPerPod` (this process: scheduler + load-generator thread) and `apiserverCpuMsPerPod`
 * (the child) — CPU time per measured pod, steadier than throughput on a shared host, so A/B comparisons use them —
 * and `events`: how many events reached the apiserver (one `Scheduled` event per pod, as kube-scheduler writes; the
 * recorder writes them in the background, one at a time, and drops only when its 10,000-deep queue is full). The CPU figures are
 * read after the scheduler stopped and its recorder flushed, so they include every event the measured pods caused.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { loadKubeconfig } from '../src/client/config.js';
import { DynamicClient } from '../src/client/dynamic.js';
// The apiserver, the informers and the scheduler are imported where they are used (dynamic imports): the creator
// thread loads this file too, and loading all of Skiff there cost ~0.03 ms per pod of this process's measured CPU.

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '5000' },
    pods: { type: 'string', default: '10000' },
    workload: { type: 'string', default: 'basic' },
    concurrency: { type: 'string', default: '64' },
    /** anti-affinity: number of colors (pods of one color repel each other). */
    groups: { type: 'string', default: '10' },
    /** topology-spread: number of zones the nodes are spread over. */
    zones: { type: 'string', default: '3' },
    /** gang: members (= minMember) per PodGroup. */
    'gang-size': { type: 'string', default: '8' },
    /** preemption: cores per node (each pre-filled with as many 1-core low-priority pods). */
    'node-cpu': { type: 'string', default: '4' },
    /** Internal: run only the apiserver on this data dir (the child process). */
    serve: { type: 'string' },
    /**
     * Pods created and scheduled before the measured ones, not timed (scheduler_perf's `initPods`); the default is
     * the upstream test case's: basic 1,000, anti-affinity 1,000, topology-spread 5,000 (plain pods), none for
     * preemption (its pre-filled pods are the init pods) and gang.
     */
    'init-pods': { type: 'string' },
    /** Print the distinct reasons of failed scheduling cycles to stderr. */
    verbose: { type: 'boolean', default: false },
    /** Run the apiserver in this process instead of a child process. */
    'in-process': { type: 'boolean', default: false },
  },
});
const NODES = Number(values.nodes);
const PODS = Number(values.pods);
const WORKLOAD = values.workload!;
const CONC = Number(values.concurrency);
const GROUPS = Number(values.groups);
const ZONES = Number(values.zones);
const GANG = Number(values['gang-size']);
const NODE_CPU = Number(values['node-cpu']);
const WORKLOADS = ['basic', 'anti-affinity', 'topology-spread', 'preemption', 'gang'];
const INIT_DEFAULTS: Record<string, number> = { basic: 1000, 'anti-affinity': 1000, 'topology-spread': 5000, preemption: 0, gang: 0 };
const INIT = values['init-pods'] !== undefined ? Number(values['init-pods']) : INIT_DEFAULTS[WORKLOAD] ?? 0;
/** The init pods' namespace: as in scheduler_perf, apart from the measured pods (selectors and affinity terms are namespaced). */
const INIT_NS = 'bench-init';
if (!values.serve && !WORKLOADS.includes(WORKLOAD)) {
  console.error(`unknown workload ${WORKLOAD} (available: ${WORKLOADS.join(', ')})`);
  process.exit(2);
}
const ZONE_LABEL = 'topology.kubernetes.io/zone';
const HOSTNAME_LABEL = 'kubernetes.io/hostname';
const GROUP_LABEL = 'scheduling.x-k8s.io/pod-group';

/**
 * The measured pod number `i` of the workload, or with `init` init pod number `i` (named `init-<i>`, in
 * {@link INIT_NS}): the workload's pod as well, except for topology-spread, whose init pods are plain ones (as
 * scheduler_perf's TopologySpreading creates them from its default template).
 */
function measuredPod(i: number, init = false): Pod {
  const name = init ? `init-${i}` : `pod-${i}`;
  const container = { name: 'c', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu: '100m', memory: '128Mi' } } };
  const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: init ? INIT_NS : 'bench', labels: { app: 'bench' } }, spec: { containers: [container] } };
  const labels = pod.metadata!.labels!;
  switch (init && WORKLOAD === 'topology-spread' ? 'basic' : WORKLOAD) {
    case 'anti-affinity': {
      labels.color = String(i % GROUPS);
      pod.spec!.affinity = {
        podAntiAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { color: labels.color } }, topologyKey: HOSTNAME_LABEL }],
        },
      };
      break;
    }
    case 'topology-spread':
      pod.spec!.topologySpreadConstraints = [{ maxSkew: 1, topologyKey: ZONE_LABEL, whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'bench' } } }];
      break;
    case 'preemption':
      container.resources.requests = { cpu: '1', memory: '128Mi' };
      pod.spec!.priorityClassName = 'bench-high';
      break;
    case 'gang':
      labels[GROUP_LABEL] = `group-${Math.floor(i / GANG)}`;
      break;
  }
  return pod;
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

async function pool<T>(n: number, conc: number, fn: (i: number) => Promise<T>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(conc, n) }, async () => {
    while (next < n) await fn(next++);
  }));
}

/** Milliseconds on a clock shared by the threads (the creator thread stamps creations, this one bindings). */
const now = () => performance.timeOrigin + performance.now();

/**
 * CPU time (ms) of the calling thread, from Linux's /proc/thread-self/stat (utime + stime, in clock ticks of 10 ms);
 * undefined elsewhere. Node 20 has no per-thread cpuUsage, and the creator thread's share of this process's CPU is
 * worth reporting apart from the scheduler's.
 */
function threadCpuMs(): number | undefined {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return undefined;
  }
}

/**
 * The creator thread: creates the init pods (if any), reports `initDone` and waits for the main thread's go; then creates the M measured pods through the API, reporting when each request was sent.
 */
async function createPods(kubeconfig: string): Promise<void> {
  const client = new DynamicClient(loadKubeconfig(kubeconfig), { rateLimit: false });
  const pods = client.resource<Pod>('v1', 'Pod');
  await pool(INIT, CONC, (i) => pods.create(INIT_NS, measuredPod(i, true), { discardResult: true }));
  // Also without init pods: the main thread starts its measurements before the first measured create.
  const go = new Promise((r) => parentPort!.once('message', r));
  parentPort!.postMessage({ initDone: true });
  await go;
  // SKIFF_BENCH_CREATOR_PROFILE=<file>: a V8 CPU profile of this thread while it creates the pods.
  const stopProfile = await startCpuProfile(process.env.SKIFF_BENCH_CREATOR_PROFILE);
  const cpu0 = threadCpuMs();
  let batch: Array<[string, number]> = [];
  await pool(PODS, CONC, async (i) => {
    const pod = measuredPod(i);
    batch.push([pod.metadata!.name!, now()]);
    if (batch.length >= 256) {
      parentPort!.postMessage({ created: batch });
      batch = [];
    }
    // The answer (the created pod) is not read: not decoding it keeps the load generator's CPU to what creating costs.
    await pods.create('bench', pod, { discardResult: true });
  });
  const cpu1 = threadCpuMs();
  await stopProfile();
  parentPort!.postMessage({ created: batch, done: true, cpuMs: cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : undefined });
  client.close();
}

/** Starts a V8 CPU profile of the calling thread when `file` is set; the returned function stops it into `file`. */
async function startCpuProfile(file: string | undefined): Promise<() => Promise<void>> {
  if (!file) return async () => {};
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  };
}

/**
 * Starts a sampling heap profile of the calling thread when `file` is set (what was allocated, collected objects
 * included: the GC's work); the returned function stops it into `file`. SKIFF_BENCH_HEAP_PROMOTED=1 leaves out what
 * died young (minor GCs), i.e. keeps what was promoted — the objects that make scavenges (and later major GCs)
 * expensive.
 */
async function startHeapProfile(file: string | undefined): Promise<() => Promise<void>> {
  if (!file) return async () => {};
  const session = new Session();
  session.connect();
  const promotedOnly = process.env.SKIFF_BENCH_HEAP_PROMOTED === '1';
  await session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: !promotedOnly });
  return async () => {
    const { profile } = await session.post('HeapProfiler.stopSampling');
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  };
}

/** Polls `cond` every `everyMs` until it holds; throws `failure()` after `timeoutMs`. */
async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, everyMs: number, failure: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(failure());
    await new Promise((r) => setTimeout(r, everyMs));
  }
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
async function startApiserver(dataDir: string): Promise<{ kubeconfig: string; cpuMs?: () => Promise<number>; close(): Promise<void> }> {
  const { startServer } = await import('../src/server/server.js');
  if (values['in-process']) {
    const server = await startServer({ dataDir, datastore: 'memory://', httpsPort: 0, logLevel: 'error', disableControllerManager: true, disableScheduler: true, disableAgent: true });
    return { kubeconfig: server.kubeconfigPath, close: () => server.close() };
  }
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--serve', dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const kubeconfig = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => { out += d; const m = /^KUBECONFIG (\S+)$/m.exec(out); if (m) resolve(m[1]!); });
    child.on('exit', (c) => reject(new Error(`apiserver child exited ${c}`)));
  });
  // CPU accounting: on SIGUSR2 the child prints its cumulative CPU time (ms) as a `CPU <ms>` line.
  const cpuWaiters: Array<(ms: number) => void> = [];
  child.stdout!.on('data', (d: Buffer) => {
    for (const m of String(d).matchAll(/^CPU (\d+)$/gm)) cpuWaiters.shift()?.(Number(m[1]));
  });
  return {
    kubeconfig,
    cpuMs: () => new Promise<number>((r) => { cpuWaiters.push(r); child.kill('SIGUSR2'); }),
    close: () => new Promise((r) => { child.once('exit', () => r()); child.kill('SIGTERM'); }),
  };
}

async function serve(dataDir: string): Promise<void> {
  const { startServer } = await import('../src/server/server.js');
  const server = await startServer({ dataDir, datastore: 'memory://', httpsPort: 0, logLevel: 'error', disableControllerManager: true, disableScheduler: true, disableAgent: true });
  console.log(`KUBECONFIG ${server.kubeconfigPath}`);
  // SKIFF_BENCH_API_PROFILE=<file>: a V8 CPU profile of the apiserver over the measured window (from the first CPU
  // reading, at the window's start, to the second, at its last binding).
  const apiProfile = process.env.SKIFF_BENCH_API_PROFILE;
  let readings = 0;
  let stopApiProfile: (() => Promise<void>) | undefined;
  // SKIFF_BENCH_API_HEAP_PROFILE=<file>: the same window as a sampling heap profile (SKIFF_BENCH_HEAP_PROMOTED as below).
  const apiHeap = process.env.SKIFF_BENCH_API_HEAP_PROFILE;
  let stopApiHeap: (() => Promise<void>) | undefined;
  process.on('SIGUSR2', () => {
    readings++;
    if (apiProfile && readings === 1) void startCpuProfile(apiProfile).then((stop) => { stopApiProfile = stop; });
    if (apiHeap && readings === 1) void startHeapProfile(apiHeap).then((stop) => { stopApiHeap = stop; });
    if (readings === 2) {
      void stopApiProfile?.();
      void stopApiHeap?.();
    }
    const u = process.cpuUsage();
    console.log(`CPU ${Math.round((u.user + u.system) / 1000)}`);
  });
  process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
}

async function main(): Promise<void> {
  const { InformerFactory } = await import('../src/controllers/informer-factory.js');
  const { startScheduler } = await import('../src/scheduler/index.js');
  const dataDir = mkdtempSync(join(tmpdir(), 'skiff-bench-sched-'));
  const server = await startApiserver(dataDir);
  const client = new DynamicClient(loadKubeconfig(server.kubeconfig), { rateLimit: false });
  const nodes = client.resource<Node>('v1', 'Node');
  const pods = client.resource<Pod>('v1', 'Pod');
  try {
    await pool(NODES, CONC, async (i) => {
      const cpu = WORKLOAD === 'preemption' ? String(NODE_CPU) : '32';
      const res = { cpu, memory: '256Gi', pods: '110', 'ephemeral-storage': '1Ti' };
      await nodes.create(undefined, {
        apiVersion: 'v1', kind: 'Node',
        metadata: { name: `node-${i}`, labels: { [HOSTNAME_LABEL]: `node-${i}`, [ZONE_LABEL]: `zone-${i % ZONES}` } },
        status: { capacity: res, allocatable: res, conditions: [{ type: 'Ready', status: 'True' }] },
      } as Node);
    });

    for (const name of ['bench', INIT_NS]) await client.resource('v1', 'Namespace').create(undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    const extra: Record<string, number> = {};
    if (WORKLOAD === 'preemption') {
      // PriorityClasses through the API: the apiserver's admission resolves priorityClassName → spec.priority.
      const pcs = client.resource('scheduling.k8s.io/v1', 'PriorityClass');
      await pcs.create(undefined, { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'bench-low' }, value: 10 });
      await pcs.create(undefined, { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'bench-high' }, value: 1000 });
      // Pre-fill every node with 1-core low-priority pods, bound at creation (not measured).
      await pool(NODES * NODE_CPU, CONC, async (i) => {
        await pods.create('bench', {
          apiVersion: 'v1', kind: 'Pod',
          metadata: { name: `low-${i}`, namespace: 'bench', labels: { app: 'low' } },
          spec: {
            nodeName: `node-${i % NODES}`, priorityClassName: 'bench-low',
            containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu: '1', memory: '128Mi' } } }],
          },
        });
      });
    }
    if (WORKLOAD === 'gang') {
      const pgs = client.resource('scheduling.x-k8s.io/v1alpha1', 'PodGroup');
      await pool(Math.ceil(PODS / GANG), CONC, async (g) => {
        const size = Math.min(GANG, PODS - g * GANG);
        await pgs.create('bench', { apiVersion: 'scheduling.x-k8s.io/v1alpha1', kind: 'PodGroup', metadata: { name: `group-${g}`, namespace: 'bench' }, spec: { minMember: size, scheduleTimeoutSeconds: 60 } });
      });
    }

    const created = new Map<string, number>();
    const bound = new Map<string, number>();
    let resolveAll!: () => void;
    const all = new Promise<void>((r) => { resolveAll = r; });
    // Bindings are observed on the scheduler's own (shared) pod informer, as `skiff server` shares informers between
    // components: a second watch just for measuring would add its fan-out to the apiserver's load.
    const informers = new InformerFactory(client, { logger: quiet });
    const initBound = new Set<string>();
    const observe = (p: Pod) => {
      const name = p.metadata?.name ?? '';
      if (p.metadata?.namespace === INIT_NS) {
        if (p.spec?.nodeName) initBound.add(name);
        return;
      }
      if (p.metadata?.namespace !== 'bench') return;
      if (!name.startsWith('pod-')) {
        // Play the kubelet for preemption victims: their containers stop at once.
        if (p.metadata?.deletionTimestamp && !victims.has(name)) {
          victims.add(name);
          pods.delete('bench', name, { gracePeriodSeconds: 0 }).catch(() => {});
        }
        return;
      }
      if (p.spec?.nodeName && !bound.has(name)) {
        bound.set(name, now());
        if (bound.size === PODS) {
          // CPU up to the last binding (the throughput window; what is written after it, e.g. queued events, is not).
          windowCpu = process.cpuUsage(cpu0);
          windowApiCpu = server.cpuMs?.();
          const stop = stopProfile;
          stopProfile = async () => {};
          void stop();
          resolveAll();
        }
      }
    };
    const victims = new Set<string>();
    let cpu0 = process.cpuUsage();
    let windowCpu: NodeJS.CpuUsage | undefined;
    let windowApiCpu: Promise<number> | undefined;
    // The main thread's profile (SKIFF_BENCH_PROFILE) covers the measured window only: it stops at the last binding.
    let stopProfile: () => Promise<void> = async () => {};
    informers.for<Pod>('v1', 'Pod').addEventHandler({ onAdd: observe, onUpdate: (_o, p) => observe(p) });

    const sched = startScheduler({ client, informers, leaderElection: false, logger: quiet });
    await waitFor(() => sched.scheduler?.cache.nodeCount() === NODES, 60_000, 10,
      () => `scheduler did not see all nodes (${sched.scheduler?.cache.nodeCount()}/${NODES})`);
    if (WORKLOAD === 'preemption') {
      // Wait until the scheduler's cache holds every pre-filled pod, so the measured pods must preempt.
      const cached = () => Object.values(sched.scheduler?.cache.dump().nodes ?? {}).reduce((n, ps) => n + ps.length, 0);
      await waitFor(() => cached() >= NODES * NODE_CPU, 60_000, 50, () => 'scheduler did not see the pre-filled pods');
    }

    // Scheduling cycles and the nodes they evaluated (Filter) — the per-pod work the adaptive percentage bounds.
    let cycles = 0;
    let evaluated = 0;
    const failures = new Map<string, number>();
    sched.scheduler!.onScheduled = (r) => {
      cycles++;
      evaluated += r.evaluatedNodes ?? 0;
      if (r.status) {
        const m = `${r.status.plugin ?? ''}: ${r.status.message()}`.slice(0, 200);
        failures.set(m, (failures.get(m) ?? 0) + 1);
      }
    };
    // The pods are created by a load generator on its own thread (its own event loop and client), as in a cluster
    // where controllers or users — not the scheduler's process — create them; the scheduler's loop only schedules.
    // The worker parses the same flags (workload, pods, …): pass them, as workers do not inherit process.argv.
    const wopts = { argv: process.argv.slice(2), workerData: { kubeconfig: server.kubeconfig } };
    const creator = import.meta.url.endsWith('.ts')
      // Run from source (tsx): the worker registers tsx's loader before loading this file.
      ? new Worker(`import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); })`, { eval: true, ...wopts })
      : new Worker(new URL(import.meta.url), wopts);
    let creatorCpuMs: number | undefined;
    let onInitCreated!: () => void;
    const initCreated = new Promise<void>((r) => { onInitCreated = r; });
    const creatorDone = new Promise<void>((resolve, reject) => {
      creator.on('message', (m: { created?: Array<[string, number]>; done?: boolean; cpuMs?: number; initDone?: boolean }) => {
        if (m.initDone) onInitCreated();
        for (const [name, t] of m.created ?? []) created.set(name, t);
        if (m.done) {
          creatorCpuMs = m.cpuMs;
          resolve();
        }
      });
      creator.once('error', reject);
    });
    void creatorDone.catch(() => {});
    await Promise.race([initCreated, creatorDone]);
    if (INIT > 0) {
      // scheduler_perf's init pods: created and scheduled before the measured ones (its createPods op waits until
      // they are scheduled), and their Scheduled events written, so the measured window starts on a steady cluster.
      const events = client.resource('v1', 'Event');
      await waitFor(async () => initBound.size >= INIT && ((await events.list(INIT_NS)) as { items?: unknown[] }).items!.length >= INIT,
        120_000, 100, () => `init pods: ${initBound.size}/${INIT} bound, their events not all written within 120 s`);
    }
    // CPU spent while pods are created and scheduled: this process (scheduler + load-generator thread) and the
    // apiserver child — less noisy than throughput on a shared machine, so A/B comparisons use it.
    // SKIFF_BENCH_PROFILE=<file>: a V8 CPU profile of this process's main thread over the measured window only.
    stopProfile = await startCpuProfile(process.env.SKIFF_BENCH_PROFILE);
    // SKIFF_BENCH_HEAP_PROFILE=<file>: a sampling heap profile of this process's main thread from the window's start until
    // the scheduler stopped (see startHeapProfile).
    const stopHeap = await startHeapProfile(process.env.SKIFF_BENCH_HEAP_PROFILE);
    cpu0 = process.cpuUsage();
    const apiCpu0 = await server.cpuMs?.();
    cycles = 0;
    evaluated = 0;
    failures.clear();
    creator.postMessage('go');
    await creatorDone;
    await creator.terminate();
    const t0 = [...created.values()].reduce((a, b) => Math.min(a, b), Infinity);
    await all;
    const elapsed = ([...bound.values()].reduce((a, b) => Math.max(a, b), 0) - t0) / 1000;
    const lat = [...bound].map(([n, t]) => t - created.get(n)!);
    // The CPU figures include the writes the measured pods caused after their binding: stopping the scheduler flushes
    // its event recorder (one Scheduled event per pod, written in the background), whose cost is part of each pod's.
    await sched.stop();
    const cpu = process.cpuUsage(cpu0);
    const apiCpu1 = await server.cpuMs?.();
    await stopProfile();
    await stopHeap();
    const cpuFields = {
      schedProcCpuMsPerPod: Number(((cpu.user + cpu.system) / 1000 / PODS).toFixed(3)),
      // The load generator's share of schedProcCpuMsPerPod (Linux only).
      ...(creatorCpuMs !== undefined ? { creatorCpuMsPerPod: Number((creatorCpuMs / PODS).toFixed(3)) } : {}),
      ...(apiCpu0 !== undefined && apiCpu1 !== undefined ? { apiserverCpuMsPerPod: Number(((apiCpu1 - apiCpu0) / PODS).toFixed(3)) } : {}),
      // The same up to the last binding only (the measured window): work done after it does not slow the throughput.
      ...(windowCpu ? { schedProcWindowCpuMsPerPod: Number(((windowCpu.user + windowCpu.system) / 1000 / PODS).toFixed(3)) } : {}),
      ...(apiCpu0 !== undefined && windowApiCpu ? { apiserverWindowCpuMsPerPod: Number((((await windowApiCpu) - apiCpu0) / PODS).toFixed(3)) } : {}),
    };
    await informers.stop();
    // Scheduled/FailedScheduling events that reached the apiserver (all of them unless the recorder's queue overflowed).
    const eventList = await client.resource('v1', 'Event').list('bench') as { items?: unknown[] };
    extra.events = eventList.items?.length ?? 0;
    if (WORKLOAD === 'preemption') {
      extra.preemptions = victims.size;
      extra.preemptionsPerSecond = Math.round(victims.size / elapsed);
    }
    if (WORKLOAD === 'gang') {
      const groups = Math.ceil(PODS / GANG);
      let full = 0;
      for (let g = 0; g < groups; g++) {
        let ok = true;
        for (let i = g * GANG; i < Math.min(PODS, (g + 1) * GANG); i++) if (!bound.has(`pod-${i}`)) ok = false;
        if (ok) full++;
      }
      extra.groups = groups;
      extra.groupsFullyBound = full;
    }
    console.log(JSON.stringify({
      workload: WORKLOAD, nodes: NODES, pods: PODS,
      podsPerSecond: Math.round(PODS / elapsed),
      p50Ms: Math.round(pct(lat, 50)), p99Ms: Math.round(pct(lat, 99)),
      ...extra,
      ...cpuFields,
      cycles, failedCycles: [...failures.values()].reduce((a, b) => a + b, 0), evaluatedNodesPerCycle: Math.round(evaluated / Math.max(1, cycles)),
      loadAvg1m: Number(loadavg()[0]!.toFixed(2)),
    }));
    if (failures.size && values.verbose) for (const [m, n] of failures) console.error(`${n}× ${m}`);
  } finally {
    client.close();
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (!isMainThread) {
  void createPods((workerData as { kubeconfig: string }).kubeconfig);
} else if (values.serve) {
  void serve(values.serve);
} else {
  main().then(() => process.exit(0), (err) => {
    console.error(err);
    process.exit(1);
  });
}
