import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoneCallGate } from './lone-call.js';

test('LoneCallGate: a call is lone after a gap since the previous call ended; calls closer together are a burst', () => {
  const g = new LoneCallGate(20);
  assert.equal(g.lone(1000), true, 'the first call is alone');
  assert.equal(g.lone(1010), false, '10 ms after the previous one: a burst');
  assert.equal(g.lone(1025), false, 'measured from the previous call, not the first');
  assert.equal(g.lone(1045), true, '20 ms after it: alone again');
  g.ended(1060); // the lone call's synchronous work took 15 ms
  assert.equal(g.lone(1070), false, 'the gap counts from where the work ended');
  assert.equal(g.lone(1100), true);
});
