import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import { Code, CycleState } from '../../framework/interface.js';
import { PodInfo, podRequests } from '../../framework/node-info.js';
import { makeNode, makePod, nodeInfo, type NodeSpec } from '../../testing.js';
import { newNodeResourcesFit, type NodeResourcesFitArgs } from './index.js';

const ctr = (name: string, requests: Record<string, string>, restartPolicy?: string): Container =>
  ({ name, image: 'x', resources: { requests }, ...(restartPolicy ? { restartPolicy } : {}) });

function podWith(containers: Container[], initContainers: Container[] = [], overhead?: Record<string, string>): Pod {
  const p = makePod('p');
  p.spec!.containers = containers;
  if (initContainers.length) p.spec!.initContainers = initContainers;
  if (overhead) p.spec!.overhead = overhead;
  return p;
}

test('podRequests: containers summed, init containers by peak, sidecars summed, overhead added (upstream PodRequests)', () => {
  const cases: Array<{ name: string; pod: Pod; cpu: number; mem: number }> = [
    { name: 'one container', pod: podWith([ctr('a', { cpu: '1', memory: '1Gi' })]), cpu: 1000, mem: 1 << 30 },
    { name: 'two containers sum', pod: podWith([ctr('a', { cpu: '1' }), ctr('b', { cpu: '500m' })]), cpu: 1500, mem: 0 },
    { name: 'init larger than sum wins', pod: podWith([ctr('a', { cpu: '1' })], [ctr('i', { cpu: '3' })]), cpu: 3000, mem: 0 },
    { name: 'init smaller than sum loses', pod: podWith([ctr('a', { cpu: '2' }), ctr('b', { cpu: '2' })], [ctr('i', { cpu: '3' })]), cpu: 4000, mem: 0 },
    { name: 'init containers take the max, not the sum', pod: podWith([ctr('a', { cpu: '100m' })], [ctr('i1', { cpu: '2' }), ctr('i2', { cpu: '1' })]), cpu: 2000, mem: 0 },
    { name: 'sidecar adds to app containers', pod: podWith([ctr('a', { cpu: '1' })], [ctr('s', { cpu: '500m' }, 'Always')]), cpu: 1500, mem: 0 },
    {
      name: 'init after a sidecar runs beside it (init + sidecar peak)',
      pod: podWith([ctr('a', { cpu: '100m' })], [ctr('s', { cpu: '1' }, 'Always'), ctr('i', { cpu: '2' })]), cpu: 3000, mem: 0,
    },
    {
      name: 'init before a sidecar does not add it',
      pod: podWith([ctr('a', { cpu: '100m' })], [ctr('i', { cpu: '2' }), ctr('s', { cpu: '1' }, 'Always')]), cpu: 2000, mem: 0,
    },
    { name: 'overhead added', pod: podWith([ctr('a', { cpu: '1', memory: '1Gi' })], [], { cpu: '250m', memory: '120Mi' }), cpu: 1250, mem: (1 << 30) + 120 * 1024 * 1024 },
    { name: 'no requests', pod: podWith([{ name: 'a', image: 'x' }]), cpu: 0, mem: 0 },
  ];
  for (const c of cases) {
    const r = podRequests(c.pod);
    assert.equal(r.milliCPU, c.cpu, `${c.name}: cpu`);
    assert.equal(r.memory, c.mem, `${c.name}: memory`);
  }
});

test('non-zero requests default missing cpu/memory to 100m / 200Mi for scoring only', () => {
  const pi = new PodInfo(podWith([{ name: 'a', image: 'x' }, ctr('b', { cpu: '0' })]));
  assert.equal(pi.requests.milliCPU, 0);
  assert.equal(pi.nonZeroMilliCPU, 100, 'explicit zero stays zero; missing becomes 100m');
  assert.equal(pi.nonZeroMemory, 2 * 200 * 1024 * 1024);
});

interface FilterCase {
  name: string;
  node: NodeSpec;
  existing?: Array<Record<string, string>>;
  pod: Pod;
  args?: NodeResourcesFitArgs;
  wantCode?: Code;
  wantReasons?: string[];
}

const reqPod = (requests: Record<string, string>) => makePod('p', { requests });

test('Filter: fits or reports every insufficient resource with upstream reasons and codes', () => {
  const cases: FilterCase[] = [
    { name: 'fits an empty node', node: { cpu: '2', memory: '4Gi' }, pod: reqPod({ cpu: '1', memory: '1Gi' }) },
    { name: 'best-effort pod fits a full node', node: { cpu: '1' }, existing: [{ cpu: '1' }], pod: makePod('p') },
    { name: 'exactly fills the node', node: { cpu: '2' }, existing: [{ cpu: '1' }], pod: reqPod({ cpu: '1' }) },
    { name: 'insufficient cpu (resolvable: used by others)', node: { cpu: '2' }, existing: [{ cpu: '1500m' }], pod: reqPod({ cpu: '1' }), wantCode: Code.Unschedulable, wantReasons: ['Insufficient cpu'] },
    { name: 'more cpu than the node has at all', node: { cpu: '2' }, pod: reqPod({ cpu: '3' }), wantCode: Code.UnschedulableAndUnresolvable, wantReasons: ['Insufficient cpu'] },
    { name: 'insufficient memory', node: { memory: '1Gi' }, existing: [{ memory: '768Mi' }], pod: reqPod({ memory: '512Mi' }), wantCode: Code.Unschedulable, wantReasons: ['Insufficient memory'] },
    { name: 'cpu and memory both short: both reasons', node: { cpu: '1', memory: '1Gi' }, existing: [{ cpu: '1', memory: '1Gi' }], pod: reqPod({ cpu: '1', memory: '1Gi' }), wantCode: Code.Unschedulable, wantReasons: ['Insufficient cpu', 'Insufficient memory'] },
    { name: 'insufficient ephemeral-storage', node: { ephemeral: '10Gi' }, pod: reqPod({ 'ephemeral-storage': '20Gi' }), wantCode: Code.UnschedulableAndUnresolvable, wantReasons: ['Insufficient ephemeral-storage'] },
    { name: 'too many pods', node: { pods: 1 }, existing: [{}], pod: makePod('p'), wantCode: Code.Unschedulable, wantReasons: ['Too many pods'] },
    { name: 'too many pods and insufficient cpu', node: { pods: 1, cpu: '1' }, existing: [{ cpu: '1' }], pod: reqPod({ cpu: '1' }), wantCode: Code.Unschedulable, wantReasons: ['Too many pods', 'Insufficient cpu'] },
    { name: 'GPU fits', node: { extended: { 'nvidia.com/gpu': '4' } }, existing: [{ 'nvidia.com/gpu': '2' }], pod: reqPod({ 'nvidia.com/gpu': '2' }) },
    { name: 'GPUs used up', node: { extended: { 'nvidia.com/gpu': '4' } }, existing: [{ 'nvidia.com/gpu': '3' }], pod: reqPod({ 'nvidia.com/gpu': '2' }), wantCode: Code.Unschedulable, wantReasons: ['Insufficient nvidia.com/gpu'] },
    { name: 'node without GPUs', node: {}, pod: reqPod({ 'nvidia.com/gpu': '1' }), wantCode: Code.UnschedulableAndUnresolvable, wantReasons: ['Insufficient nvidia.com/gpu'] },
    { name: 'zero GPU request is ignored', node: {}, pod: reqPod({ 'nvidia.com/gpu': '0' }) },
    { name: 'hugepages', node: { extended: { 'hugepages-2Mi': '1Gi' } }, pod: reqPod({ 'hugepages-2Mi': '2Gi' }), wantCode: Code.UnschedulableAndUnresolvable, wantReasons: ['Insufficient hugepages-2Mi'] },
    { name: 'ignored resource', node: {}, pod: reqPod({ 'example.com/foo': '1' }), args: { ignoredResources: ['example.com/foo'] } },
    { name: 'ignored resource group', node: {}, pod: reqPod({ 'example.com/foo': '1' }), args: { ignoredResourceGroups: ['example.com'] } },
    {
      name: 'init container peak counts',
      node: { cpu: '2' },
      pod: podWith([ctr('a', { cpu: '500m' })], [ctr('i', { cpu: '3' })]),
      wantCode: Code.UnschedulableAndUnresolvable, wantReasons: ['Insufficient cpu'],
    },
    {
      name: 'sidecar counts with app containers',
      node: { cpu: '2' }, existing: [{ cpu: '500m' }],
      pod: podWith([ctr('a', { cpu: '1' })], [ctr('s', { cpu: '1' }, 'Always')]),
      wantCode: Code.Unschedulable, wantReasons: ['Insufficient cpu'],
    },
    { name: 'overhead counts', node: { cpu: '1' }, pod: podWith([ctr('a', { cpu: '1' })], [], { cpu: '100m' }), wantCode: Code.UnschedulableAndUnresolvable, wantReasons: ['Insufficient cpu'] },
  ];
  for (const c of cases) {
    const plugin = newNodeResourcesFit(c.args);
    const ni = nodeInfo(makeNode('n', c.node), ...(c.existing ?? []).map((r, i) => makePod(`e${i}`, { requests: r, nodeName: 'n' })));
    const state = new CycleState();
    assert.equal(plugin.preFilter(state, c.pod).status, null);
    const s = plugin.filter(state, c.pod, ni);
    if (c.wantCode === undefined) assert.equal(s, null, `${c.name}: expected to fit, got ${s?.message()}`);
    else {
      assert.equal(s?.code, c.wantCode, `${c.name}: code`);
      assert.deepEqual(s?.reasons, c.wantReasons, `${c.name}: reasons`);
    }
  }
});

interface ScoreCase {
  name: string;
  args?: NodeResourcesFitArgs;
  node: NodeSpec;
  existing?: Array<Record<string, string>>;
  pod: Record<string, string>;
  want: number;
}

test('Score: LeastAllocated, MostAllocated and RequestedToCapacityRatio as upstream', () => {
  const most: NodeResourcesFitArgs = { scoringStrategy: { type: 'MostAllocated' } };
  const gpuMost: NodeResourcesFitArgs = { scoringStrategy: { type: 'MostAllocated', resources: [{ name: 'nvidia.com/gpu', weight: 1 }] } };
  const ratio: NodeResourcesFitArgs = {
    scoringStrategy: { type: 'RequestedToCapacityRatio', requestedToCapacityRatio: { shape: [{ utilization: 0, score: 10 }, { utilization: 100, score: 0 }] } },
  };
  const cases: ScoreCase[] = [
    // (4000-1000)*100/4000 = 75; (10Gi-... ) memory: (4Gi-1Gi)*100/4Gi = 75 → 75
    { name: 'least: empty node', node: { cpu: '4', memory: '4Gi' }, pod: { cpu: '1', memory: '1Gi' }, want: 75 },
    { name: 'least: half-used node', node: { cpu: '4', memory: '4Gi' }, existing: [{ cpu: '2', memory: '2Gi' }], pod: { cpu: '1', memory: '1Gi' }, want: 25 },
    // cpu: (4000-100-100)*100/4000 = 95; memory (4Gi - 400Mi)*100/4Gi = 90 (trunc 90.23) → (95+90)/2 = 92
    { name: 'least: request-less pods count 100m/200Mi', node: { cpu: '4', memory: '4Gi' }, existing: [{}], pod: {}, want: 92 },
    // cpu over capacity → 0; memory (4Gi − 200Mi default of the existing pod − 2Gi) → 45 → (0 + 45) / 2 = 22
    { name: 'least: over capacity scores 0 for that resource', node: { cpu: '1', memory: '4Gi' }, existing: [{ cpu: '1' }], pod: { cpu: '1', memory: '2Gi' }, want: 22 },
    { name: 'most: empty node', args: most, node: { cpu: '4', memory: '4Gi' }, pod: { cpu: '1', memory: '1Gi' }, want: 25 },
    { name: 'most: half-used node', args: most, node: { cpu: '4', memory: '4Gi' }, existing: [{ cpu: '2', memory: '2Gi' }], pod: { cpu: '1', memory: '1Gi' }, want: 75 },
    { name: 'most: capped at capacity', args: most, node: { cpu: '1', memory: '4Gi' }, existing: [{ cpu: '1' }], pod: { cpu: '1', memory: '4Gi' }, want: 100 },
    { name: 'most on GPUs: 3 of 4 used after placing', args: gpuMost, node: { extended: { 'nvidia.com/gpu': '4' } }, existing: [{ 'nvidia.com/gpu': '2' }], pod: { 'nvidia.com/gpu': '1' }, want: 75 },
    { name: 'most on GPUs: node without GPUs scores 0', args: gpuMost, node: {}, pod: { 'nvidia.com/gpu': '1' }, want: 0 },
    { name: 'most on GPUs: pod without GPU request scores 0', args: gpuMost, node: { extended: { 'nvidia.com/gpu': '4' } }, pod: { cpu: '1' }, want: 0 },
    // shape 0→100, 100→0 (×10): cpu 25 % → 75, memory 25 % → 75
    { name: 'ratio: linear decreasing shape', args: ratio, node: { cpu: '4', memory: '4Gi' }, pod: { cpu: '1', memory: '1Gi' }, want: 75 },
    { name: 'ratio: full node', args: ratio, node: { cpu: '1', memory: '1Gi' }, pod: { cpu: '1', memory: '1Gi' }, want: 0 },
  ];
  for (const c of cases) {
    const plugin = newNodeResourcesFit(c.args);
    const pod = makePod('p', { requests: Object.keys(c.pod).length ? c.pod : undefined });
    const ni = nodeInfo(makeNode('n', c.node), ...(c.existing ?? []).map((r, i) => makePod(`e${i}`, { requests: Object.keys(r).length ? r : undefined, nodeName: 'n' })));
    const state = new CycleState();
    plugin.preScore(state, pod);
    assert.equal(plugin.score(state, pod, ni), c.want, c.name);
  }
});

test('invalid arguments are rejected', () => {
  assert.throws(() => newNodeResourcesFit({ scoringStrategy: { type: 'Nope' as 'MostAllocated' } }), /not supported/);
  assert.throws(() => newNodeResourcesFit({ scoringStrategy: { type: 'RequestedToCapacityRatio', requestedToCapacityRatio: { shape: [] } } }), /must not be empty/);
  assert.throws(() => newNodeResourcesFit({ scoringStrategy: { type: 'RequestedToCapacityRatio', requestedToCapacityRatio: { shape: [{ utilization: 50, score: 1 }, { utilization: 10, score: 2 }] } } }), /increasing/);
  assert.throws(() => newNodeResourcesFit({ scoringStrategy: { resources: [{ name: 'cpu', weight: 0 }] } }), /weight/);
});

test('registers the events that can free resources', () => {
  const labels = newNodeResourcesFit().eventsToRegister().map((e) => e.event.label);
  assert.deepEqual(labels, ['AssignedPodDelete', 'PodScaleDown', 'NodeAddOrAllocatableChange']);
});
