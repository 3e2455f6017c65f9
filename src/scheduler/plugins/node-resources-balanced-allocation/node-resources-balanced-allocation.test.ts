import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, CycleState } from '../../framework/interface.js';
import { makeNode, makePod, nodeInfo, type NodeSpec } from '../../testing.js';
import { balancedScore, newBalancedAllocation, type BalancedAllocationArgs } from './index.js';

test('balancedScore: (1 − std of fractions) × 100, as upstream', () => {
  const cases: Array<{ name: string; req: number[]; alloc: number[]; want: number }> = [
    { name: 'equal fractions', req: [1, 2], alloc: [4, 8], want: 100 },
    { name: 'two resources: |f1 − f2| / 2', req: [3, 1], alloc: [4, 4], want: 75 },
    { name: 'fractions capped at 1', req: [8, 0], alloc: [4, 4], want: 50 },
    { name: 'zero allocatable ignored', req: [1, 5], alloc: [4, 0], want: 100 },
    { name: 'three resources use the population std', req: [0, 2, 4], alloc: [4, 4, 4], want: 59 },
    { name: 'nothing to compare', req: [], alloc: [], want: 100 },
  ];
  for (const c of cases) assert.equal(balancedScore(c.req, c.alloc), c.want, c.name);
});

test('Score: uses real requests of the node plus the pod', () => {
  const cases: Array<{ name: string; args?: BalancedAllocationArgs; node: NodeSpec; existing?: Array<Record<string, string>>; pod: Record<string, string>; want: number }> = [
    // cpu 1/4 = .25, memory 1/4 = .25 → 100
    { name: 'balanced', node: { cpu: '4', memory: '4Gi' }, pod: { cpu: '1', memory: '1Gi' }, want: 100 },
    // cpu (2+1)/4 = .75, memory 1/4 = .25 → std .25 → 75
    { name: 'cpu-heavy node', node: { cpu: '4', memory: '4Gi' }, existing: [{ cpu: '2' }], pod: { cpu: '1', memory: '1Gi' }, want: 75 },
    // gpu counted when configured and requested: cpu .25, mem .25, gpu 1 → std .3535 → 64
    {
      name: 'extended resource in the resource list', args: { resources: [{ name: 'cpu' }, { name: 'memory' }, { name: 'nvidia.com/gpu' }] },
      node: { cpu: '4', memory: '4Gi', extended: { 'nvidia.com/gpu': '1' } }, pod: { cpu: '1', memory: '1Gi', 'nvidia.com/gpu': '1' }, want: 64,
    },
  ];
  for (const c of cases) {
    const plugin = newBalancedAllocation(c.args);
    const pod = makePod('p', { requests: c.pod });
    const ni = nodeInfo(makeNode('n', c.node), ...(c.existing ?? []).map((r, i) => makePod(`e${i}`, { requests: r, nodeName: 'n' })));
    const state = new CycleState();
    assert.equal(plugin.preScore(state, pod), null, c.name);
    assert.equal(plugin.score(state, pod, ni), c.want, c.name);
  }
});

test('PreScore skips best-effort pods', () => {
  assert.equal(newBalancedAllocation().preScore(new CycleState(), makePod('p'))?.code, Code.Skip);
});
