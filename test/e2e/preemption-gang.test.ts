/**
 * Priority preemption and gang scheduling end to end with the real kubectl against `skiff server` (which runs the
 * scheduler): simulated nodes are Node objects with capacity; the test plays the kubelet where one is needed (it
 * finishes the graceful deletion of a preempted pod).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, NO_KUBECTL, startServer, type TestServer } from './harness.js';

let s: TestServer;

function node(name: string, cpu: string): object {
  const res = { cpu, memory: '16Gi', pods: '110' };
  return {
    apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    status: { capacity: res, allocatable: res, conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

function pod(name: string, cpu: string, o: { priorityClassName?: string; group?: string; nodeName?: string } = {}): object {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: 'default', ...(o.group ? { labels: { 'scheduling.x-k8s.io/pod-group': o.group } } : {}) },
    spec: {
      containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu }, limits: { cpu } } }],
      ...(o.priorityClassName ? { priorityClassName: o.priorityClassName } : {}),
      ...(o.nodeName ? { nodeSelector: { 'kubernetes.io/hostname': o.nodeName } } : {}),
    },
  };
}

async function eventually<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

const nodeOf = async (name: string) => {
  const r = await s.kubectl(['get', 'pod', name, '-o', 'jsonpath={.spec.nodeName}']);
  return r.code === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
};

before(async () => {
  if (NO_KUBECTL) return;
  s = await startServer();
  const nodes = [node('pre-1', '2'), node('gang-1', '2'), node('gang-2', '1')];
  await s.k(['apply', '-f', '-'], { input: nodes.map((n) => JSON.stringify(n)).join('\n') });
  for (const n of nodes as Array<{ metadata: { name: string }; status: unknown }>) {
    await s.k(['patch', 'node', n.metadata.name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: n.status })]);
  }
  const pcs = [
    { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'low' }, value: 10 },
    { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'high' }, value: 1000 },
  ];
  await s.k(['apply', '-f', '-'], { input: pcs.map((p) => JSON.stringify(p)).join('\n') });
});

after(() => cleanup(s));

test('a high-priority pod preempts a low-priority one and binds to the nominated node', { skip: NO_KUBECTL }, async () => {
  await s.k(['apply', '-f', '-'], { input: JSON.stringify(pod('victim', '2', { priorityClassName: 'low', nodeName: 'pre-1' })) });
  assert.equal(await eventually(() => nodeOf('victim'), 'victim bound'), 'pre-1');
  await s.k(['apply', '-f', '-'], { input: JSON.stringify(pod('preemptor', '2', { priorityClassName: 'high', nodeName: 'pre-1' })) });
  const describe = await eventually(async () => {
    const r = await s.kubectl(['describe', 'pod', 'victim']);
    return /Preempted/.test(r.stdout) ? r.stdout : undefined;
  }, 'Preempted event on the victim');
  assert.match(describe, /Preempted by pod [0-9a-f-]+ on node pre-1/);
  assert.match(describe, /DisruptionTarget\s+True/);
  const nnn = await eventually(async () => {
    const r = await s.kubectl(['get', 'pod', 'preemptor', '-o', 'jsonpath={.status.nominatedNodeName}']);
    return r.stdout.trim() || undefined;
  }, 'nominatedNodeName');
  assert.equal(nnn, 'pre-1');
  // Play the kubelet: the victim's containers are gone.
  await s.k(['delete', 'pod', 'victim', '--grace-period=0', '--force']);
  assert.equal(await eventually(() => nodeOf('preemptor'), 'preemptor bound'), 'pre-1');
});

test('gangs: 3 members that fit all bind; 4 members of which only 3 fit bind none', { skip: NO_KUBECTL }, async () => {
  const pg = (name: string, minMember: number) => ({ apiVersion: 'scheduling.x-k8s.io/v1alpha1', kind: 'PodGroup', metadata: { name, namespace: 'default' }, spec: { minMember, scheduleTimeoutSeconds: 5 } });
  // PodGroup has no OpenAPI schema yet (served built-in until CRDs arrive), so kubectl cannot validate it client-side.
  await s.k(['apply', '--validate=false', '-f', '-'], { input: [pg('fits', 3), pg('toobig', 4)].map((p) => JSON.stringify(p)).join('\n') });
  const list = await s.k(['get', 'podgroups']);
  assert.match(list, /fits/);
  const members = (g: string, n: number) => Array.from({ length: n }, (_, i) => pod(`${g}-${i}`, '1', { group: g }));
  await s.k(['apply', '-f', '-'], { input: members('fits', 3).map((p) => JSON.stringify(p)).join('\n') });
  for (let i = 0; i < 3; i++) await eventually(() => nodeOf(`fits-${i}`), `fits-${i} bound`);
  // The gang nodes now have 0 free cpu… free them for the second gang: delete the first (kubelet-style).
  await s.k(['delete', 'pod', 'fits-0', 'fits-1', 'fits-2', '--grace-period=0', '--force']);
  await s.k(['apply', '-f', '-'], { input: members('toobig', 4).map((p) => JSON.stringify(p)).join('\n') });
  const msg = await eventually(async () => {
    const r = await s.kubectl(['get', 'pod', 'toobig-0', '-o', 'jsonpath={.status.conditions[?(@.type=="PodScheduled")].message}']);
    return r.stdout.includes('pod group default/toobig') ? r.stdout : undefined;
  }, 'gang explanation');
  assert.match(msg, /pod group default\/toobig/);
  await new Promise((r) => setTimeout(r, 2_000));
  for (let i = 0; i < 4; i++) assert.equal(await nodeOf(`toobig-${i}`), undefined, `toobig-${i} must not bind`);
});
