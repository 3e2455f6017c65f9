import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Toleration } from 'kubernetes-types/core/v1.js';
import { Code, CycleState } from '../../framework/interface.js';
import { NodeInfo } from '../../framework/node-info.js';
import { makeNode, makePod, nodeInfo } from '../../testing.js';
import { newNodeUnschedulable, REASON_UNKNOWN_CONDITION, REASON_UNSCHEDULABLE } from './index.js';

const plugin = newNodeUnschedulable();

test('Filter: cordoned nodes only take pods tolerating node.kubernetes.io/unschedulable:NoSchedule', () => {
  const cases: Array<{ name: string; unschedulable: boolean; tolerations?: Toleration[]; want?: string }> = [
    { name: 'schedulable node', unschedulable: false },
    { name: 'cordoned node', unschedulable: true, want: REASON_UNSCHEDULABLE },
    { name: 'tolerated by exact toleration', unschedulable: true, tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] },
    { name: 'tolerated by wildcard', unschedulable: true, tolerations: [{ operator: 'Exists' }] },
    { name: 'tolerated without effect', unschedulable: true, tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists' }] },
    { name: 'wrong effect', unschedulable: true, tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoExecute' }], want: REASON_UNSCHEDULABLE },
    { name: 'other key', unschedulable: true, tolerations: [{ key: 'gpu', operator: 'Exists' }], want: REASON_UNSCHEDULABLE },
  ];
  for (const c of cases) {
    const s = plugin.filter(new CycleState(), makePod('p', { tolerations: c.tolerations }), nodeInfo(makeNode('n', { unschedulable: c.unschedulable })));
    if (!c.want) assert.equal(s, null, c.name);
    else assert.deepEqual([s?.code, s?.reasons], [Code.UnschedulableAndUnresolvable, [c.want]], c.name);
  }
});

test('Filter: a NodeInfo without its Node reports unknown conditions', () => {
  const s = plugin.filter(new CycleState(), makePod('p'), new NodeInfo());
  assert.deepEqual(s?.reasons, [REASON_UNKNOWN_CONDITION]);
});

test('queueing hint: only a schedulable node requeues', () => {
  const hint = plugin.eventsToRegister()[0]!.hint!;
  assert.equal(hint(makePod('p'), undefined, makeNode('n')), 'Queue');
  assert.equal(hint(makePod('p'), undefined, makeNode('n', { unschedulable: true })), 'QueueSkip');
});
