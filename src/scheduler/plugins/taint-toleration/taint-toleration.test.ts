import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Taint, Toleration } from 'kubernetes-types/core/v1.js';
import { Code, CycleState, type NodeScore } from '../../framework/interface.js';
import { makeNode, makePod, nodeInfo } from '../../testing.js';
import { NodeInfo } from '../../framework/node-info.js';
import { newTaintToleration } from './index.js';

const plugin = newTaintToleration();
const taint = (key: string, value: string | undefined, effect: string): Taint => ({ key, ...(value !== undefined ? { value } : {}), effect });

test('Filter: NoSchedule/NoExecute taints must be tolerated; reason names the first untolerated taint', () => {
  const cases: Array<{ name: string; taints?: Taint[]; tolerations?: Toleration[]; want?: string }> = [
    { name: 'no taints', tolerations: [] },
    { name: 'untolerated NoSchedule', taints: [taint('gpu', 'true', 'NoSchedule')], want: 'node(s) had untolerated taint {gpu: true}' },
    { name: 'untolerated NoExecute', taints: [taint('dedicated', 'db', 'NoExecute')], want: 'node(s) had untolerated taint {dedicated: db}' },
    { name: 'PreferNoSchedule does not filter', taints: [taint('soft', 'x', 'PreferNoSchedule')] },
    { name: 'taint without value', taints: [taint('maintenance', undefined, 'NoSchedule')], want: 'node(s) had untolerated taint {maintenance: }' },
    { name: 'Equal toleration matches key, value, effect', taints: [taint('gpu', 'true', 'NoSchedule')], tolerations: [{ key: 'gpu', operator: 'Equal', value: 'true', effect: 'NoSchedule' }] },
    { name: 'operator defaults to Equal', taints: [taint('gpu', 'true', 'NoSchedule')], tolerations: [{ key: 'gpu', value: 'true' }] },
    { name: 'wrong value', taints: [taint('gpu', 'true', 'NoSchedule')], tolerations: [{ key: 'gpu', operator: 'Equal', value: 'false' }], want: 'node(s) had untolerated taint {gpu: true}' },
    { name: 'wrong effect', taints: [taint('gpu', 'true', 'NoSchedule')], tolerations: [{ key: 'gpu', operator: 'Exists', effect: 'NoExecute' }], want: 'node(s) had untolerated taint {gpu: true}' },
    { name: 'Exists tolerates any value', taints: [taint('gpu', 'whatever', 'NoSchedule')], tolerations: [{ key: 'gpu', operator: 'Exists' }] },
    { name: 'empty key with Exists tolerates everything', taints: [taint('a', '1', 'NoSchedule'), taint('b', '2', 'NoExecute')], tolerations: [{ operator: 'Exists' }] },
    {
      name: 'second taint untolerated',
      taints: [taint('a', '1', 'NoSchedule'), taint('b', '2', 'NoSchedule')], tolerations: [{ key: 'a', operator: 'Exists' }],
      want: 'node(s) had untolerated taint {b: 2}',
    },
    { name: 'toleration for another key', taints: [taint('a', '1', 'NoSchedule')], tolerations: [{ key: 'b', operator: 'Exists' }], want: 'node(s) had untolerated taint {a: 1}' },
  ];
  for (const c of cases) {
    const pod = makePod('p', { tolerations: c.tolerations });
    const s = plugin.filter(new CycleState(), pod, nodeInfo(makeNode('n', { taints: c.taints })));
    if (!c.want) assert.equal(s, null, `${c.name}: ${s?.message()}`);
    else {
      assert.equal(s?.code, Code.UnschedulableAndUnresolvable, c.name);
      assert.deepEqual(s?.reasons, [c.want], c.name);
    }
  }
});

test('Score: counts untolerated PreferNoSchedule taints; normalized in reverse', () => {
  const nodes = [
    { name: 'clean', taints: [] as Taint[] },
    { name: 'one', taints: [taint('a', '1', 'PreferNoSchedule')] },
    { name: 'two', taints: [taint('a', '1', 'PreferNoSchedule'), taint('b', '2', 'PreferNoSchedule')] },
    { name: 'hard-only', taints: [taint('c', '3', 'NoSchedule')] },
    { name: 'tolerated', taints: [taint('t', 'x', 'PreferNoSchedule')] },
  ];
  const cases: Array<{ name: string; tolerations?: Toleration[]; raw: number[]; normalized: number[] }> = [
    { name: 'no tolerations', raw: [0, 1, 2, 0, 1], normalized: [100, 50, 0, 100, 50] },
    { name: 'tolerating t', tolerations: [{ key: 't', operator: 'Exists', effect: 'PreferNoSchedule' }], raw: [0, 1, 2, 0, 0], normalized: [100, 50, 0, 100, 100] },
    { name: 'NoSchedule tolerations do not count for PreferNoSchedule', tolerations: [{ key: 'a', operator: 'Exists', effect: 'NoSchedule' }], raw: [0, 1, 2, 0, 1], normalized: [100, 50, 0, 100, 50] },
    { name: 'tolerate everything', tolerations: [{ operator: 'Exists' }], raw: [0, 0, 0, 0, 0], normalized: [100, 100, 100, 100, 100] },
  ];
  for (const c of cases) {
    const pod = makePod('p', { tolerations: c.tolerations });
    const state = new CycleState();
    plugin.preScore(state, pod);
    const scores: NodeScore[] = nodes.map((n) => ({ name: n.name, score: plugin.score(state, pod, nodeInfo(makeNode(n.name, { taints: n.taints }))) }));
    assert.deepEqual(scores.map((s) => s.score), c.raw, `${c.name}: raw`);
    plugin.normalizeScore(state, pod, scores);
    assert.deepEqual(scores.map((s) => s.score), c.normalized, `${c.name}: normalized`);
  }
});

test('queueing hint: only a node whose taints the pod tolerates requeues it', () => {
  const [nodeEvents] = plugin.eventsToRegister();
  const pod = makePod('p', { tolerations: [{ key: 'gpu', operator: 'Exists' }] });
  const cases: Array<{ name: string; taints?: Taint[]; want: string }> = [
    { name: 'untainted node', want: 'Queue' },
    { name: 'tolerated taint', taints: [taint('gpu', 'true', 'NoSchedule')], want: 'Queue' },
    { name: 'untolerated taint', taints: [taint('other', 'x', 'NoExecute')], want: 'QueueSkip' },
  ];
  for (const c of cases) assert.equal(nodeEvents!.hint!(pod, undefined, makeNode('n', { taints: c.taints })), c.want, c.name);
});

test('PreScore skips when no feasible node has a PreferNoSchedule taint (every node would score the same)', () => {
  const pl = newTaintToleration();
  const plain = new NodeInfo(makeNode('a'));
  const soft = new NodeInfo(makeNode('b', { taints: [{ key: 'k', value: 'v', effect: 'PreferNoSchedule' }] }));
  const hard = new NodeInfo(makeNode('c', { taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }] }));
  assert.equal(pl.preScore(new CycleState(), makePod('p'), [plain, hard])?.code, Code.Skip);
  assert.equal(pl.preScore(new CycleState(), makePod('p'), [plain, soft]), null);
});
