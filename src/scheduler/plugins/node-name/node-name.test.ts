import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, CycleState } from '../../framework/interface.js';
import { makeNode, makePod, nodeInfo } from '../../testing.js';
import { newNodeName, REASON } from './index.js';

test('Filter: a pod naming a node fits only that node', () => {
  const plugin = newNodeName();
  const cases: Array<{ name: string; podNode?: string; node: string; fits: boolean }> = [
    { name: 'no nodeName fits any node', node: 'a', fits: true },
    { name: 'same node', podNode: 'a', node: 'a', fits: true },
    { name: 'other node', podNode: 'b', node: 'a', fits: false },
    { name: 'prefix is not a match', podNode: 'a', node: 'ab', fits: false },
  ];
  for (const c of cases) {
    const s = plugin.filter(new CycleState(), makePod('p', { nodeName: c.podNode }), nodeInfo(makeNode(c.node)));
    if (c.fits) assert.equal(s, null, c.name);
    else assert.deepEqual([s?.code, s?.reasons], [Code.UnschedulableAndUnresolvable, [REASON]], c.name);
  }
  assert.deepEqual(plugin.eventsToRegister().map((e) => e.event.label), ['NodeAdd']);
});
