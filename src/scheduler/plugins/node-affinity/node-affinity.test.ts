import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeSelectorRequirement, NodeSelectorTerm, Pod } from 'kubernetes-types/core/v1.js';
import { Code, CycleState, type NodeScore } from '../../framework/interface.js';
import { makeNode, makePod, nodeInfo } from '../../testing.js';
import { newNodeAffinity, REASON_POD } from './index.js';

const plugin = newNodeAffinity();
const expr = (key: string, operator: string, ...values: string[]): NodeSelectorRequirement => ({ key, operator, ...(values.length ? { values } : {}) });
const required = (...terms: NodeSelectorTerm[]): Pod => makePod('p', { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } } });

function filter(pod: Pod, labels: Record<string, string>, nodeName = 'n'): { pre: ReturnType<typeof plugin.preFilter>; status: ReturnType<typeof plugin.filter> } {
  const state = new CycleState();
  const pre = plugin.preFilter(state, pod);
  return { pre, status: plugin.filter(state, pod, nodeInfo(makeNode(nodeName, { labels }))) };
}

test('Filter: nodeSelector and required terms as upstream', () => {
  const cases: Array<{ name: string; pod: Pod; labels: Record<string, string>; nodeName?: string; fits: boolean }> = [
    { name: 'nodeSelector matches', pod: makePod('p', { nodeSelector: { disk: 'ssd' } }), labels: { disk: 'ssd' }, fits: true },
    { name: 'nodeSelector value differs', pod: makePod('p', { nodeSelector: { disk: 'ssd' } }), labels: { disk: 'hdd' }, fits: false },
    { name: 'nodeSelector label missing', pod: makePod('p', { nodeSelector: { disk: 'ssd' } }), labels: {}, fits: false },
    { name: 'nodeSelector needs every label', pod: makePod('p', { nodeSelector: { disk: 'ssd', zone: 'a' } }), labels: { disk: 'ssd' }, fits: false },
    { name: 'In matches', pod: required({ matchExpressions: [expr('zone', 'In', 'a', 'b')] }), labels: { zone: 'b' }, fits: true },
    { name: 'In misses', pod: required({ matchExpressions: [expr('zone', 'In', 'a', 'b')] }), labels: { zone: 'c' }, fits: false },
    { name: 'NotIn with label absent matches', pod: required({ matchExpressions: [expr('zone', 'NotIn', 'a')] }), labels: {}, fits: true },
    { name: 'NotIn excludes', pod: required({ matchExpressions: [expr('zone', 'NotIn', 'a')] }), labels: { zone: 'a' }, fits: false },
    { name: 'Exists', pod: required({ matchExpressions: [expr('gpu', 'Exists')] }), labels: { gpu: '' }, fits: true },
    { name: 'DoesNotExist', pod: required({ matchExpressions: [expr('gpu', 'DoesNotExist')] }), labels: { gpu: 'a100' }, fits: false },
    { name: 'Gt', pod: required({ matchExpressions: [expr('cores', 'Gt', '8')] }), labels: { cores: '16' }, fits: true },
    { name: 'Gt not greater', pod: required({ matchExpressions: [expr('cores', 'Gt', '8')] }), labels: { cores: '8' }, fits: false },
    { name: 'Lt', pod: required({ matchExpressions: [expr('cores', 'Lt', '8')] }), labels: { cores: '4' }, fits: true },
    { name: 'Gt with non-integer label', pod: required({ matchExpressions: [expr('cores', 'Gt', '8')] }), labels: { cores: 'many' }, fits: false },
    { name: 'expressions within a term are ANDed', pod: required({ matchExpressions: [expr('zone', 'In', 'a'), expr('disk', 'In', 'ssd')] }), labels: { zone: 'a', disk: 'hdd' }, fits: false },
    { name: 'terms are ORed', pod: required({ matchExpressions: [expr('zone', 'In', 'x')] }, { matchExpressions: [expr('disk', 'In', 'ssd')] }), labels: { disk: 'ssd' }, fits: true },
    { name: 'an empty term matches nothing', pod: required({}), labels: { any: 'thing' }, fits: false },
    { name: 'invalid operator never matches', pod: required({ matchExpressions: [expr('zone', 'Near', 'a')] }), labels: { zone: 'a' }, fits: false },
    { name: 'matchFields metadata.name', pod: required({ matchFields: [expr('metadata.name', 'In', 'n')] }), labels: {}, fits: true },
    { name: 'matchFields other name', pod: required({ matchFields: [expr('metadata.name', 'In', 'm')] }), labels: {}, fits: false },
    { name: 'matchFields NotIn', pod: required({ matchFields: [expr('metadata.name', 'NotIn', 'n')] }), labels: {}, fits: false },
    {
      name: 'nodeSelector AND required terms',
      pod: { ...required({ matchExpressions: [expr('zone', 'In', 'a')] }), spec: { ...required({ matchExpressions: [expr('zone', 'In', 'a')] }).spec!, nodeSelector: { disk: 'ssd' } } },
      labels: { zone: 'a' }, fits: false,
    },
  ];
  for (const c of cases) {
    const { pre, status } = filter(c.pod, c.labels, c.nodeName);
    assert.equal(pre.status, null, `${c.name}: prefilter`);
    if (c.fits) assert.equal(status, null, c.name);
    else assert.deepEqual([status?.code, status?.reasons], [Code.UnschedulableAndUnresolvable, [REASON_POD]], c.name);
  }
});

test('PreFilter: Skip without any node affinity; narrows to metadata.name pins', () => {
  assert.equal(plugin.preFilter(new CycleState(), makePod('p')).status?.code, Code.Skip);
  const cases: Array<{ name: string; pod: Pod; want?: string[]; unresolvable?: boolean }> = [
    { name: 'label terms only: no narrowing', pod: required({ matchExpressions: [expr('zone', 'In', 'a')] }) },
    { name: 'one pinned term', pod: required({ matchFields: [expr('metadata.name', 'In', 'a')] }), want: ['a'] },
    { name: 'union over terms', pod: required({ matchFields: [expr('metadata.name', 'In', 'a')] }, { matchFields: [expr('metadata.name', 'In', 'b')] }), want: ['a', 'b'] },
    { name: 'one unpinned term disables narrowing', pod: required({ matchFields: [expr('metadata.name', 'In', 'a')] }, { matchExpressions: [expr('zone', 'In', 'a')] }) },
    { name: 'contradictory pins in one term', pod: required({ matchFields: [expr('metadata.name', 'In', 'a'), expr('metadata.name', 'In', 'b')] }), unresolvable: true },
  ];
  for (const c of cases) {
    const r = plugin.preFilter(new CycleState(), c.pod);
    if (c.unresolvable) {
      assert.equal(r.status?.code, Code.UnschedulableAndUnresolvable, c.name);
      continue;
    }
    assert.equal(r.status, null, c.name);
    assert.deepEqual(r.result?.nodeNames ? [...r.result.nodeNames].sort() : undefined, c.want, c.name);
  }
});

test('Score: sums matching preferred weights, normalized to 100', () => {
  const pod = makePod('p', {
    affinity: {
      nodeAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 80, preference: { matchExpressions: [expr('gpu', 'In', 'a100')] } },
          { weight: 20, preference: { matchExpressions: [expr('zone', 'In', 'a')] } },
        ],
      },
    },
  });
  const nodes: Array<[string, Record<string, string>]> = [['both', { gpu: 'a100', zone: 'a' }], ['gpu', { gpu: 'a100' }], ['zone', { zone: 'a' }], ['none', {}]];
  const state = new CycleState();
  assert.equal(plugin.preScore(state, pod), null);
  const scores: NodeScore[] = nodes.map(([name, labels]) => ({ name, score: plugin.score(state, pod, nodeInfo(makeNode(name, { labels }))) }));
  assert.deepEqual(scores.map((s) => s.score), [100, 80, 20, 0]);
  plugin.normalizeScore(state, pod, scores);
  assert.deepEqual(scores.map((s) => s.score), [100, 80, 20, 0]);
  const half = scores.map((s) => ({ ...s, score: s.score / 2 }));
  plugin.normalizeScore(state, pod, half);
  assert.deepEqual(half.map((s) => s.score), [100, 80, 20, 0]);
  assert.equal(plugin.preScore(new CycleState(), makePod('q'))?.code, Code.Skip, 'no preferences: Skip');
});

test('queueing hint: a node add/label change requeues only when the node now matches', () => {
  const hint = plugin.eventsToRegister()[0]!.hint!;
  const pod = makePod('p', { nodeSelector: { disk: 'ssd' } });
  assert.equal(hint(pod, undefined, makeNode('n', { labels: { disk: 'ssd' } })), 'Queue');
  assert.equal(hint(pod, undefined, makeNode('n', { labels: { disk: 'hdd' } })), 'QueueSkip');
});
