/**
 * Inter-pod affinity, anti-affinity and topology spread end to end with the real kubectl against `skiff server`
 * (which runs the scheduler): three simulated nodes over two zones (Node objects with capacity, hostname and zone
 * labels, created through the API then status-patched as a kubelet would report capacity). Pods land where
 * kube-scheduler would put them, and `kubectl describe pod` of a pod that cannot be placed shows the upstream reason.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, NO_KUBECTL, startServer, type TestServer } from './harness.js';

let s: TestServer;

const ZONE = 'topology.kubernetes.io/zone';
const HOST = 'kubernetes.io/hostname';
/** Node name → zone. */
const NODES: Record<string, string> = { 'sp-a1': 'zone-a', 'sp-a2': 'zone-a', 'sp-b1': 'zone-b' };

function node(name: string, zone: string): object {
  const res = { cpu: '4', memory: '16Gi', pods: '110' };
  return {
    apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { [HOST]: name, [ZONE]: zone } },
    status: { capacity: res, allocatable: res, conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

function pod(name: string, labels: Record<string, string>, spec: Record<string, unknown> = {}): object {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels },
    spec: { containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu: '100m' } } }], ...spec },
  };
}

const apply = (objs: object[]) => s.k(['apply', '-f', '-'], { input: objs.map((o) => JSON.stringify(o)).join('\n') });

async function eventually<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** nodeName of each pod with `label`, once all `n` of them are bound. */
async function placements(selector: string, n: number): Promise<Map<string, string>> {
  return eventually(async () => {
    const r = await s.kubectl(['get', 'pods', '-l', selector, '-o', 'jsonpath={range .items[*]}{.metadata.name}={.spec.nodeName}{"\\n"}{end}']);
    const m = new Map<string, string>();
    for (const line of r.stdout.trim().split('\n')) {
      const [name, nodeName] = line.split('=');
      if (name && nodeName) m.set(name, nodeName);
    }
    return m.size === n ? m : undefined;
  }, `${n} pods ${selector} bound`);
}

/** The describe output of a pod the scheduler could not place: no node, PodScheduled False. */
function assertUnscheduled(d: string): void {
  assert.match(d, /Node:\s+<none>/);
  assert.match(d, /PodScheduled\s+False/);
}

/** `kubectl describe pod` once it shows a FailedScheduling event matching `re`. */
async function describeUntil(name: string, re: RegExp): Promise<string> {
  return eventually(async () => {
    const r = await s.kubectl(['describe', 'pod', name]);
    return re.test(r.stdout) ? r.stdout : undefined;
  }, `FailedScheduling ${re} on ${name}`);
}

before(async () => {
  if (NO_KUBECTL) return;
  s = await startServer();
  const nodes = Object.entries(NODES).map(([n, z]) => node(n, z));
  await apply(nodes);
  // kubectl apply sends status with the object; make sure the capacity is there (as a kubelet would report it).
  for (const n of nodes as Array<{ metadata: { name: string }; status: unknown }>) {
    await s.k(['patch', 'node', n.metadata.name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: n.status })]);
  }
});

after(() => cleanup(s));

test('required pod anti-affinity on hostname: 3 pods on 3 nodes, a 4th stays Pending', { skip: NO_KUBECTL }, async () => {
  const anti = (name: string) => pod(name, { app: 'anti' }, {
    affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'anti' } }, topologyKey: HOST }] } },
  });
  await apply([anti('anti-0'), anti('anti-1'), anti('anti-2')]);
  const placed = await placements('app=anti', 3);
  assert.deepEqual(new Set(placed.values()), new Set(Object.keys(NODES)), 'one pod per node');

  await apply([anti('anti-3')]);
  const d = await describeUntil('anti-3', /FailedScheduling/);
  assertUnscheduled(d);
  assert.match(d, /0\/3 nodes are available: 3 node\(s\) didn't match pod anti-affinity rules\./);
  const nodeName = await s.k(['get', 'pod', 'anti-3', '-o', 'jsonpath={.spec.nodeName}']);
  assert.equal(nodeName.trim(), '');
  await s.k(['delete', 'pod', '-l', 'app=anti', '--grace-period=0', '--force', '--wait=false']);
});

test('required pod affinity on hostname co-locates with the matching pod', { skip: NO_KUBECTL }, async () => {
  await apply([pod('web-0', { app: 'web' })]);
  const web = (await placements('app=web', 1)).get('web-0')!;
  const cache = (name: string) => pod(name, { app: 'cache' }, {
    affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'web' } }, topologyKey: HOST }] } },
  });
  // Two replicas: LeastAllocated alone would spread them; the affinity keeps both beside web-0.
  await apply([cache('cache-0'), cache('cache-1')]);
  const placed = await placements('app=cache', 2);
  assert.deepEqual([...placed.values()], [web, web]);

  // No pod matches the term anywhere: the pod stays Pending with upstream's reason.
  await apply([pod('lonely', { app: 'lonely' }, {
    affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'nobody' } }, topologyKey: HOST }] } },
  })]);
  const d = await describeUntil('lonely', /FailedScheduling/);
  assert.match(d, /0\/3 nodes are available: 3 node\(s\) didn't match pod affinity rules\./);
  await s.k(['delete', 'pod', 'web-0', 'cache-0', 'cache-1', 'lonely', '--grace-period=0', '--force', '--wait=false']);
});

test('topology spread DoNotSchedule maxSkew 1 over 2 zones: 4 pods 2/2; minDomains over a node-less zone keeps a pod Pending', { skip: NO_KUBECTL }, async () => {
  const spread = (name: string, minDomains?: number) => pod(name, { app: 'spread' }, {
    topologySpreadConstraints: [{
      maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'spread' } },
      ...(minDomains ? { minDomains } : {}),
    }],
  });
  // zone-a has two nodes, zone-b one: resource scoring alone would put 3 of 4 pods in zone-a.
  await apply([spread('spread-0'), spread('spread-1'), spread('spread-2'), spread('spread-3')]);
  const placed = await placements('app=spread', 4);
  const perZone = new Map<string, number>();
  for (const n of placed.values()) perZone.set(NODES[n]!, (perZone.get(NODES[n]!) ?? 0) + 1);
  assert.deepEqual(Object.fromEntries(perZone), { 'zone-a': 2, 'zone-b': 2 });

  // minDomains 3 with only 2 zones holding nodes: the missing zone counts as 0 pods, so any placement makes skew 3.
  await apply([spread('spread-4', 3)]);
  const d = await describeUntil('spread-4', /FailedScheduling/);
  assertUnscheduled(d);
  assert.match(d, /0\/3 nodes are available: 3 node\(s\) didn't match pod topology spread constraints\./);
});
