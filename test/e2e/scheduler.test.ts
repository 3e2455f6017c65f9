/**
 * The scheduler end to end with the real kubectl: simulated nodes (Node objects with capacity, labels and taints) are
 * applied with kubectl; pods with nodeSelector, affinity, tolerations and GPU requests land where kube-scheduler would
 * put them; `kubectl describe pod` of an unschedulable pod shows the FailedScheduling event with the upstream message.
 * Until `skiff server` runs the scheduler itself, the test starts it in this process against the server's kubeconfig.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadKubeconfig } from '../../src/client/config.js';
import { DynamicClient } from '../../src/client/dynamic.js';
import { startScheduler, type RunningScheduler } from '../../src/scheduler/index.js';
import { cleanup, NO_KUBECTL, startServer, type TestServer } from './harness.js';

let s: TestServer;
let client: DynamicClient;
let sched: RunningScheduler;
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

function node(name: string, o: { cpu?: string; gpu?: string; labels?: Record<string, string>; taints?: Array<{ key: string; value?: string; effect: string }> }): object {
  const res: Record<string, string> = { cpu: o.cpu ?? '4', memory: '16Gi', pods: '110', ...(o.gpu ? { 'nvidia.com/gpu': o.gpu } : {}) };
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(o.labels ?? {}) } },
    spec: o.taints ? { taints: o.taints } : {},
    status: { capacity: res, allocatable: res, conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

before(async () => {
  if (NO_KUBECTL) return;
  s = await startServer({ extraArgs: ['--disable-scheduler'] }); // this test runs its own scheduler in-process
  client = new DynamicClient(loadKubeconfig(s.kubeconfig), { rateLimit: false });
  const nodes = [
    node('cpu-1', { labels: { disk: 'ssd', zone: 'a' } }),
    node('cpu-2', { labels: { zone: 'b' } }),
    node('cpu-3', { cpu: '1', labels: { zone: 'b' } }),
    node('gpu-1', { gpu: '2', labels: { accelerator: 'a100', zone: 'a' }, taints: [{ key: 'gpu', value: 'true', effect: 'NoSchedule' }] }),
    node('gpu-2', { gpu: '2', labels: { accelerator: 'h100', zone: 'b' }, taints: [{ key: 'gpu', value: 'true', effect: 'NoSchedule' }] }),
  ];
  await s.k(['apply', '-f', '-'], { input: nodes.map((n) => JSON.stringify(n)).join('\n') });
  // kubectl apply sends status with the object; make sure the capacity is there (as a kubelet would report it).
  for (const n of nodes as Array<{ metadata: { name: string }; status: unknown }>) {
    await s.k(['patch', 'node', n.metadata.name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: n.status })]);
  }
  sched = startScheduler({ client, leaderElection: false, logger: quiet });
});

after(async () => {
  await sched?.stop();
  client?.close();
  await cleanup(s);
});

async function nodeOf(pod: string, timeoutMs = 10_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await s.kubectl(['get', 'pod', pod, '-o', 'jsonpath={.spec.nodeName}']);
    if (r.code === 0 && r.stdout.trim()) return r.stdout.trim();
    if (Date.now() > end) throw new Error(`pod ${pod} was not scheduled`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function pod(name: string, spec: Record<string, unknown>, requests?: Record<string, string>): object {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' },
    spec: { containers: [{ name: 'c', image: 'busybox', ...(requests ? { resources: { requests, limits: requests } } : {}) }], ...spec },
  };
}

test('pods land where upstream would put them', { skip: NO_KUBECTL }, async () => {
  const gpuToleration = [{ key: 'gpu', operator: 'Equal', value: 'true', effect: 'NoSchedule' }];
  const pods = [
    pod('sel', { nodeSelector: { disk: 'ssd' } }),
    pod('aff', { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }, { key: 'accelerator', operator: 'DoesNotExist' }] }] } } } }, { cpu: '2' }),
    pod('train', { tolerations: gpuToleration, affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, preference: { matchExpressions: [{ key: 'accelerator', operator: 'In', values: ['h100'] }] } }] } } }, { 'nvidia.com/gpu': '2' }),
    pod('infer', { tolerations: gpuToleration }, { 'nvidia.com/gpu': '1' }),
    pod('plain', {}, { cpu: '3' }),
  ];
  await s.k(['apply', '-f', '-'], { input: pods.map((p) => JSON.stringify(p)).join('\n') });
  assert.equal(await nodeOf('sel'), 'cpu-1');
  assert.equal(await nodeOf('aff'), 'cpu-2', 'zone b without accelerator and room for 2 cpu: cpu-2 (cpu-3 has 1 cpu)');
  assert.equal(await nodeOf('train'), 'gpu-2', 'preferred h100');
  assert.equal(await nodeOf('infer'), 'gpu-1', 'gpu-2 is full');
  assert.ok(['cpu-1', 'cpu-2'].includes(await nodeOf('plain')), 'tainted GPU nodes and the 1-cpu node are out');
  const ev = await s.k(['get', 'events', '--field-selector', 'involvedObject.name=sel,reason=Scheduled', '-o', 'jsonpath={.items[*].message}']);
  assert.equal(ev.trim(), 'Successfully assigned default/sel to cpu-1');
});

test('kubectl describe shows FailedScheduling with the upstream message; a new node unblocks the pod', { skip: NO_KUBECTL }, async () => {
  await s.k(['apply', '-f', '-'], { input: JSON.stringify(pod('big-gpu', {}, { 'nvidia.com/gpu': '4' })) });
  const msg = '0/5 nodes are available: 2 node(s) had untolerated taint {gpu: true}, 3 Insufficient nvidia.com/gpu. preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling.';
  const end = Date.now() + 10_000;
  let out = '';
  while (Date.now() < end) {
    out = await s.k(['describe', 'pod', 'big-gpu']);
    if (out.includes('FailedScheduling')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(out, /Warning\s+FailedScheduling\s+.*default-scheduler\s+0\/5 nodes are available/);
  assert.ok(out.includes(msg), out);
  const cond = await s.k(['get', 'pod', 'big-gpu', '-o', 'jsonpath={.status.conditions[?(@.type=="PodScheduled")].reason}:{.status.conditions[?(@.type=="PodScheduled")].message}']);
  assert.equal(cond, `Unschedulable:${msg}`);

  const big = node('gpu-big', { gpu: '8' });
  await s.k(['apply', '-f', '-'], { input: JSON.stringify(big) });
  await s.k(['patch', 'node', 'gpu-big', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: (big as { status: unknown }).status })]);
  assert.equal(await nodeOf('big-gpu', 15_000), 'gpu-big');
});
