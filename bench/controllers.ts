/**
 * `npm run bench:controllers -- --replicas N`: controller-manager throughput through the real API, printed as one JSON
 * object (issue "Client library, operator SDK and the controller-manager", Benchmark section):
 *
 * - `replicaset`: a ReplicaSet of N replicas is created through the API; time until all N pods exist and until all are
 *   Ready (and the ReplicaSet's status says readyReplicas = N), pods/s, and apiserver requests per pod.
 * - `deployment`: a Deployment of N replicas is first created and brought to complete (not timed), then rolled to a
 *   new template the way `kubectl set image` does (a strategic-merge PATCH of the image); time until the rollout is
 *   complete by `kubectl rollout status` rules (observedGeneration ≥ generation, updatedReplicas = replicas =
 *   availableReplicas = spec.replicas, no old replicas left), pods/s (new pods made Ready per second), and requests
 *   per pod.
 *
 * The apiserver runs with the real controller-manager (every controller, `skiff server` defaults) on the memory store
 * in a child process by default, so the server+controllers and the benchmark's simulated node each have an event loop
 * (this machine has 2 cores); `--in-process` runs everything in one process. The scheduler is disabled: the simulated
 * node binds pods itself through `pods/binding` (the scheduler has its own benchmark, `bench:scheduler`), so the numbers
 * are the deployment and replicaset controllers' alone.
 *
 * The simulated node watches pods; for each new unbound pod it POSTs `pods/binding` and PATCHes the status to
 * Running + Ready (as a kubelet's status manager does), with a bounded number of requests in flight; pods being
 * deleted gracefully (bound pods are) are confirmed with a grace-period-0 DELETE as a kubelet does once containers stop.
 *
 * Requests per pod: `apiserver_request_total` from the server's `/metrics` before and after each phase, broken out by
 * verb/resource[/subresource]; what the simulated node and the benchmark driver themselves sent (counted on the client
 * side) is subtracted, so `controllerRequests` is what the controller-manager spent (the `Ready` wait is done on a
 * watch, not by polling). Each count is read once the cluster has gone quiet (see `quiesce`), so background work a
 * phase queued — events are written after the controllers move on — is charged to it.
 *
 * `BENCH_TRACE=1` prints every ReplicaSet resize and Deployment status change on stderr (how the rollout stepped).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import { loadKubeconfig } from '../src/client/config.js';
import { DynamicClient } from '../src/client/dynamic.js';
import { Informer } from '../src/client/informer.js';
import type { RequestOptions } from '../src/client/rest.js';
import { isNotFound } from '../src/client/rest.js';
import { startServer } from '../src/server/server.js';

const { values } = parseArgs({
  options: {
    replicas: { type: 'string', default: '1000' },
    /** Requests the simulated node keeps in flight. */
    concurrency: { type: 'string', default: '32' },
    /** Internal: run only the server on this data dir (the child process). */
    serve: { type: 'string' },
    /** Run the server in this process instead of a child process. */
    'in-process': { type: 'boolean', default: false },
    /** Give up a phase after this many seconds. */
    'timeout-s': { type: 'string', default: '120' },
  },
});
const N = Number(values.replicas);
const CONC = Number(values.concurrency);
const PHASE_TIMEOUT_MS = Number(values['timeout-s']) * 1000;
const NS = 'bench';
const IMAGE1 = 'registry.k8s.io/pause:3.9';
const IMAGE2 = 'registry.k8s.io/pause:3.10';
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

type Counts = Map<string, number>;

/** `verb resource[/subresource]` in apiserver_request_total's terms (CleanVerb: LIST/WATCH for collection GETs). */
function requestKey(method: string, path: string, query?: Record<string, unknown>): string {
  const parts = path.split('?')[0]!.split('/').filter(Boolean);
  // /api/v1/... or /apis/group/version/...
  let rest = parts[0] === 'api' ? parts.slice(2) : parts.slice(3);
  if (rest[0] === 'namespaces' && rest.length > 2) rest = rest.slice(2);
  const [resource, name, sub] = rest;
  let verb = method.toUpperCase();
  if (verb === 'GET' && name === undefined) verb = query?.watch === 'true' || query?.watch === true ? 'WATCH' : 'LIST';
  return `${verb} ${resource ?? ''}${sub ? `/${sub}` : ''}`;
}

/** Counts every request a client sends, by {@link requestKey}. */
function countRequests(client: DynamicClient): Counts {
  const counts: Counts = new Map();
  const rest = client.rest as unknown as { request(o: RequestOptions): Promise<unknown>; stream(o: RequestOptions): Promise<unknown> };
  for (const m of ['request', 'stream'] as const) {
    const orig = rest[m].bind(rest);
    rest[m] = (o: RequestOptions) => {
      const k = requestKey(o.method ?? 'GET', o.path, o.query as Record<string, unknown>);
      counts.set(k, (counts.get(k) ?? 0) + 1);
      return orig(o);
    };
  }
  return counts;
}

/** Reads `apiserver_request_total` summed by verb/resource[/subresource] (all codes, groups and scopes). */
async function serverCounts(client: DynamicClient): Promise<Counts> {
  const text = await client.rest.request<string>({ method: 'GET', path: '/metrics' });
  const counts: Counts = new Map();
  for (const line of String(text).split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    const k = `${labels.verb} ${labels.resource}${labels.subresource ? `/${labels.subresource}` : ''}`;
    counts.set(k, (counts.get(k) ?? 0) + v);
  }
  return counts;
}

function snapshot(c: Counts): Counts {
  return new Map(c);
}

/** after − before − Σ client-side deltas, dropping zeros; the `/metrics` GET itself is not a resource request. */
function diff(after: Counts, before: Counts, ...own: [Counts, Counts][]): Record<string, number> {
  const out: Record<string, number> = {};
  const keys = new Set([...after.keys(), ...before.keys()]);
  for (const k of [...keys].sort()) {
    let v = (after.get(k) ?? 0) - (before.get(k) ?? 0);
    for (const [a, b] of own) v -= (a.get(k) ?? 0) - (b.get(k) ?? 0);
    if (v !== 0) out[k] = v;
  }
  return out;
}

function sum(r: Record<string, number>): number {
  return Object.values(r).reduce((a, b) => a + b, 0);
}

/**
 * The server runs in a child process by default — as the controller-manager would beside a kubelet on another
 * machine — so the simulated node's event loop does not steal time from the controllers'.
 */
async function startApiserver(dataDir: string): Promise<{ kubeconfig: string; close(): Promise<void> }> {
  if (values['in-process']) {
    const server = await startServer({ dataDir, datastore: 'memory://', httpsPort: 0, logLevel: 'error', disableScheduler: true, disableAgent: true });
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
    close: () => new Promise((r) => {
      if (child.exitCode !== null) return r();
      child.once('exit', () => r());
      child.kill('SIGTERM');
    }),
  };
}

async function serve(dataDir: string): Promise<void> {
  const server = await startServer({ dataDir, datastore: 'memory://', httpsPort: 0, logLevel: 'error', disableScheduler: true, disableAgent: true });
  console.log(`KUBECONFIG ${server.kubeconfigPath}`);
  process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
}

/** A fast simulated node: binds, marks Running+Ready and confirms graceful deletions, `CONC` requests in flight. */
class SimulatedNode {
  readonly inf: Informer<Pod>;
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly done = new Set<string>();
  private readonly deleting = new Set<string>();
  private active = 0;
  readonly errors: unknown[] = [];
  private readonly pods;

  constructor(client: DynamicClient) {
    this.pods = client.resource<Pod>('v1', 'Pod');
    this.inf = new Informer<Pod>(this.pods, { namespace: NS, logger: quiet });
    const enqueue = (p: Pod) => this.enqueue(p);
    this.inf.addEventHandler({ onAdd: enqueue, onUpdate: (_o, n) => enqueue(n), onDelete: (p) => { this.done.delete(key(p)); this.deleting.delete(key(p)); } });
  }

  async start(): Promise<void> {
    this.inf.start();
    await this.inf.waitForSync();
  }

  private enqueue(p: Pod): void {
    const k = key(p);
    if (this.queued.has(k)) return;
    if (p.metadata?.deletionTimestamp ? this.deleting.has(k) : this.done.has(k) || isReady(p)) return;
    this.queued.add(k);
    this.queue.push(k);
    this.pump();
  }

  private pump(): void {
    while (this.active < CONC && this.queue.length) {
      const k = this.queue.shift()!;
      this.queued.delete(k);
      this.active++;
      void this.handle(k).catch((err) => { if (!isNotFound(err)) this.errors.push(err); }).finally(() => {
        this.active--;
        this.pump();
      });
    }
  }

  private async handle(k: string): Promise<void> {
    const [ns, name] = k.split('/') as [string, string];
    const pod = this.inf.lister.get(ns, name);
    if (!pod) return;
    if (pod.metadata?.deletionTimestamp) {
      if (pod.spec?.nodeName) {
        this.deleting.add(k);
        await this.pods.delete(ns, name, { gracePeriodSeconds: 0 });
      }
      return;
    }
    if (isReady(pod)) return;
    this.done.add(k);
    if (!pod.spec?.nodeName) {
      await this.pods.createSubresource(ns, name, 'binding', {
        apiVersion: 'v1', kind: 'Binding', metadata: { name }, target: { apiVersion: 'v1', kind: 'Node', name: 'bench-node' },
      });
    }
    const t = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const cond = (type: string) => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: t });
    await this.pods.patch(ns, name, 'strategic', {
      status: {
        phase: 'Running',
        conditions: [cond('PodReadyToStartContainers'), cond('Initialized'), cond('Ready'), cond('ContainersReady'), cond('PodScheduled')],
        hostIP: '10.0.0.1',
        podIP: `10.42.${(this.done.size >> 8) & 255}.${this.done.size & 255}`,
        startTime: t,
        containerStatuses: (pod.spec?.containers ?? []).map((c) => ({
          name: c.name, image: c.image ?? '', imageID: '', ready: true, started: true, restartCount: 0, state: { running: { startedAt: t } },
        })),
      },
    }, { subresource: 'status' });
  }

  async stop(): Promise<void> {
    await this.inf.stop();
  }
}

function key(p: Pod): string {
  return `${p.metadata?.namespace}/${p.metadata?.name}`;
}

function isReady(p: Pod): boolean {
  return !!p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
}

/** Resolves when `pred` holds, checked on every informer event (no polling), or rejects after the phase timeout. */
function until<T extends { metadata?: { name?: string } }>(inf: Informer<T>, what: string, pred: () => boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    if (pred()) return resolve(performance.now());
    const timer = setTimeout(() => { off(); reject(new Error(`timed out waiting for ${what}`)); }, PHASE_TIMEOUT_MS);
    const check = () => {
      if (!pred()) return;
      clearTimeout(timer);
      off();
      resolve(performance.now());
    };
    const off = inf.addEventHandler({ onAdd: check, onUpdate: check, onDelete: check });
  });
}

function template(app: string, image: string) {
  return {
    metadata: { labels: { app } },
    spec: { terminationGracePeriodSeconds: 30, containers: [{ name: 'c', image, resources: { requests: { cpu: '10m', memory: '16Mi' } } }] },
  };
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'skiff-bench-ctrl-'));
  const server = await startApiserver(dataDir);
  const cfg = loadKubeconfig(server.kubeconfig);
  const driver = new DynamicClient(cfg, { rateLimit: false });
  const nodeClient = new DynamicClient(cfg, { rateLimit: false, maxSockets: CONC });
  const metricsClient = new DynamicClient(cfg, { rateLimit: false });
  const driverCounts = countRequests(driver);
  const nodeCounts = countRequests(nodeClient);
  const node = new SimulatedNode(nodeClient);
  const rsInf = new Informer<ReplicaSet>(driver.resource<ReplicaSet>('apps/v1', 'ReplicaSet'), { namespace: NS, logger: quiet });
  const dInf = new Informer<Deployment>(driver.resource<Deployment>('apps/v1', 'Deployment'), { namespace: NS, logger: quiet });
  if (process.env.BENCH_TRACE) {
    const t00 = performance.now();
    rsInf.addEventHandler({ onAdd: (r) => console.error('RS+', Math.round(performance.now() - t00), r.metadata?.name, r.spec?.replicas, JSON.stringify(r.status), r.metadata?.annotations?.['deployment.kubernetes.io/desired-replicas']),
      onUpdate: (o, r) => { if (o.spec?.replicas !== r.spec?.replicas) console.error('RS~', Math.round(performance.now() - t00), r.metadata?.name, o.spec?.replicas, '->', r.spec?.replicas, JSON.stringify(r.status)); } });
    dInf.addEventHandler({ onUpdate: (_o, d) => console.error('D~', Math.round(performance.now() - t00), d.metadata?.generation, JSON.stringify(d.status?.conditions?.map((c) => c.reason)), JSON.stringify({ ...d.status, conditions: undefined })) });
  }
  try {
    await driver.resource('v1', 'Namespace').create(undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    await node.start();
    rsInf.start();
    dInf.start();
    await Promise.all([rsInf.waitForSync(), dInf.waitForSync()]);
    await settle(); // the namespace's default ServiceAccount etc. are created before the first phase
    const podsOf = (app: string) => node.inf.lister.list(NS).filter((p) => p.metadata?.labels?.app === app);

    // Phase 1: a ReplicaSet of N replicas, from POST to all pods Ready.
    const rs = driver.resource<ReplicaSet>('apps/v1', 'ReplicaSet');
    const b1 = await quiesce(metricsClient);
    const d1 = snapshot(driverCounts);
    const n1 = snapshot(nodeCounts);
    const t0 = performance.now();
    await rs.create(NS, {
      apiVersion: 'apps/v1', kind: 'ReplicaSet',
      metadata: { name: 'bench-rs', namespace: NS },
      spec: { replicas: N, selector: { matchLabels: { app: 'bench-rs' } }, template: template('bench-rs', IMAGE1) },
    });
    const allExist = until(node.inf, 'all ReplicaSet pods to exist', () => podsOf('bench-rs').length >= N);
    const allReady = until(node.inf, 'all ReplicaSet pods to be Ready', () => podsOf('bench-rs').filter(isReady).length >= N);
    const statusReady = until(rsInf, 'ReplicaSet status readyReplicas', () => {
      const s = rsInf.lister.get(NS, 'bench-rs');
      return !!s && s.status?.readyReplicas === N && (s.status?.observedGeneration ?? 0) >= (s.metadata?.generation ?? 1);
    });
    const tExist = await allExist;
    const tReady = await allReady;
    const tStatus = await statusReady;
    const a1 = await quiesce(metricsClient);
    const rsReq = diff(a1, b1, [driverCounts, d1], [nodeCounts, n1]);
    const rsNodeReq = diff(nodeCounts, n1);
    // The ReplicaSet is removed (orphaning nothing: background cascade) before the Deployment phase.
    await rs.delete(NS, 'bench-rs', { propagationPolicy: 'Background' });
    await until(node.inf, 'ReplicaSet pods to be deleted', () => podsOf('bench-rs').length === 0);

    // Phase 2: a Deployment of N replicas, brought up (untimed), then rolled to a new image.
    const deps = driver.resource<Deployment>('apps/v1', 'Deployment');
    await deps.create(NS, {
      apiVersion: 'apps/v1', kind: 'Deployment',
      metadata: { name: 'bench-deploy', namespace: NS },
      spec: { replicas: N, selector: { matchLabels: { app: 'bench-deploy' } }, template: template('bench-deploy', IMAGE1) },
    });
    const complete = () => {
      const d = dInf.lister.get(NS, 'bench-deploy');
      const s = d?.status;
      if (!d || !s) return false;
      // `kubectl rollout status` (DeploymentStatusViewer): observedGeneration ≥ generation, then updated = spec
      // replicas, no old replicas (replicas = updated), available = updated; plus every new pod is Ready here.
      return (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1) && s.updatedReplicas === N && s.replicas === N && s.availableReplicas === N;
    };
    const tUp0 = performance.now();
    await until(dInf, 'the Deployment to become available', complete);
    const upSeconds = (performance.now() - tUp0) / 1000;

    const b2 = await quiesce(metricsClient);
    const d2 = snapshot(driverCounts);
    const n2 = snapshot(nodeCounts);
    const r0 = performance.now();
    await deps.patch(NS, 'bench-deploy', 'strategic', { spec: { template: { spec: { containers: [{ name: 'c', image: IMAGE2 }] } } } });
    const tRolled = await until(dInf, 'the rollout to complete', () => {
      const d = dInf.lister.get(NS, 'bench-deploy');
      return (d?.metadata?.generation ?? 0) >= 2 && complete();
    });
    // Old pods may still be terminating when status says complete; the number of them is reported.
    const oldLeft = podsOf('bench-deploy').filter((p) => p.spec?.containers?.[0]?.image === IMAGE1).length;
    const a2 = await quiesce(metricsClient);
    const dReq = diff(a2, b2, [driverCounts, d2], [nodeCounts, n2]);
    const dNodeReq = diff(nodeCounts, n2);
    const rsList = rsInf.lister.list(NS).filter((r) => r.metadata?.ownerReferences?.some((o) => o.name === 'bench-deploy'));

    const rsSeconds = (tReady - t0) / 1000;
    const rollSeconds = (tRolled - r0) / 1000;
    if (node.errors.length) console.error(`simulated node: ${node.errors.length} errors, first: ${String(node.errors[0])}`);
    console.log(JSON.stringify({
      replicas: N,
      server: values['in-process'] ? 'in-process' : 'child-process',
      datastore: 'memory://',
      replicaset: {
        allPodsExistSeconds: round((tExist - t0) / 1000),
        allPodsReadySeconds: round(rsSeconds),
        statusReadySeconds: round((tStatus - t0) / 1000),
        podsCreatedPerSecond: Math.round(N / ((tExist - t0) / 1000)),
        podsReadyPerSecond: Math.round(N / rsSeconds),
        controllerRequests: sum(rsReq),
        controllerRequestsPerPod: round(sum(rsReq) / N),
        controllerRequestsByVerb: rsReq,
        simulatedNodeRequestsPerPod: round(sum(rsNodeReq) / N),
        simulatedNodeRequestsByVerb: rsNodeReq,
      },
      deployment: {
        initialRolloutSeconds: round(upSeconds),
        rolloutSeconds: round(rollSeconds),
        podsPerSecond: Math.round(N / rollSeconds),
        replicaSets: rsList.length,
        oldPodsStillTerminating: oldLeft,
        controllerRequests: sum(dReq),
        controllerRequestsPerPod: round(sum(dReq) / N),
        controllerRequestsByVerb: dReq,
        simulatedNodeRequestsPerPod: round(sum(dNodeReq) / N),
        simulatedNodeRequestsByVerb: dNodeReq,
      },
    }, null, 2));
  } finally {
    await node.stop().catch(() => {});
    await rsInf.stop().catch(() => {});
    await dInf.stop().catch(() => {});
    driver.close();
    nodeClient.close();
    metricsClient.close();
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Lets in-flight status writes (e.g. the last ReplicaSet status update) land before the next step. */
function settle(): Promise<void> {
  return new Promise((r) => setTimeout(r, 500));
}

/**
 * Waits until the controller-manager has gone quiet — no request but Lease renewals for 1 s, at most 30 s — and
 * returns the counters then, so a phase's count includes the work it queued (events are written in the background
 * after the controllers move on) and none of it leaks into the next phase.
 */
async function quiesce(metrics: DynamicClient): Promise<Counts> {
  const busy = (c: Counts) => [...c].filter(([k]) => !k.endsWith(' leases')).reduce((a, [, v]) => a + v, 0);
  let last = await serverCounts(metrics);
  const deadline = performance.now() + 30_000;
  while (performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = await serverCounts(metrics);
    if (busy(now) === busy(last)) return now;
    last = now;
  }
  return last;
}

if (values.serve) {
  void serve(values.serve);
} else {
  main().then(() => process.exit(0), (err) => {
    console.error(err);
    process.exit(1);
  });
}
