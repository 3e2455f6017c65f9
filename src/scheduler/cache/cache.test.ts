import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../client/testing/fake-clock.js';
import { makeNode, makePod } from '../testing.js';
import { SchedulerCache, Snapshot } from './cache.js';

test('assumed pods count at once, are confirmed by the informer event, and expire 30 s after binding if never confirmed', () => {
  const clock = new FakeClock();
  const expired: string[] = [];
  const cache = new SchedulerCache(clock, 30_000, (p) => expired.push(p.metadata!.name!));
  const snap = new Snapshot();
  cache.addNode(makeNode('n', { cpu: '2' }));
  const a = makePod('a', { requests: { cpu: '1' } });
  const b = makePod('b', { requests: { cpu: '1' } });
  cache.assumePod({ ...a, spec: { ...a.spec!, nodeName: 'n' } }, 'n');
  cache.assumePod({ ...b, spec: { ...b.spec!, nodeName: 'n' } }, 'n');
  cache.updateSnapshot(snap);
  assert.equal(snap.get('n')!.requested.milliCPU, 2000);

  cache.finishBinding(a);
  cache.finishBinding(b);
  cache.addPod({ ...a, spec: { ...a.spec!, nodeName: 'n' } }); // a's binding seen on the watch
  clock.advance(30_000);
  cache.cleanupExpiredAssumedPods();
  assert.deepEqual(expired, ['b']);
  cache.updateSnapshot(snap);
  assert.equal(snap.get('n')!.requested.milliCPU, 1000);
  assert.deepEqual(cache.dump(), { nodes: { n: ['default/a'] }, assumed: [] });
});

test('an assumed pod whose binding has not finished never expires; forgetPod drops it', () => {
  const clock = new FakeClock();
  const cache = new SchedulerCache(clock);
  cache.addNode(makeNode('n'));
  const p = makePod('p');
  cache.assumePod(p, 'n');
  clock.advance(10 * 60_000);
  cache.cleanupExpiredAssumedPods();
  assert.ok(cache.isAssumed(p));
  assert.throws(() => cache.assumePod(p, 'n'), /can't be assumed/);
  cache.forgetPod(p);
  assert.equal(cache.isAssumed(p), false);
  assert.deepEqual(cache.dump().nodes.n, []);
});

test('the snapshot copies only changed nodes and keeps unchanged NodeInfo objects', () => {
  const cache = new SchedulerCache(new FakeClock());
  const snap = new Snapshot();
  for (const n of ['a', 'b', 'c']) cache.addNode(makeNode(n));
  cache.updateSnapshot(snap);
  const before = snap.list().slice();
  assert.deepEqual(before.map((n) => n.name), ['a', 'b', 'c']);
  cache.addPod(makePod('p', { nodeName: 'b' }));
  cache.updateSnapshot(snap);
  const after = snap.list();
  assert.equal(after[0], before[0], 'a untouched');
  assert.notEqual(after[1], before[1], 'b re-copied');
  assert.equal(after[1]!.pods.length, 1);
  assert.equal(before[1]!.pods.length, 0, 'the old copy did not change under a running cycle');
  cache.removeNode(makeNode('a'));
  cache.updateSnapshot(snap);
  assert.deepEqual(snap.list().map((n) => n.name), ['b', 'c']);
});

test('pods with affinity are indexed for InterPodAffinity; a node deleted under its pods leaves the snapshot', () => {
  const cache = new SchedulerCache(new FakeClock());
  const snap = new Snapshot();
  cache.addNode(makeNode('a'));
  cache.addNode(makeNode('b'));
  const anti = makePod('anti', { nodeName: 'a', affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'x' } } }] } } });
  cache.addPod(anti);
  cache.updateSnapshot(snap);
  assert.deepEqual(snap.havePodsWithAffinityList().map((n) => n.name), ['a']);
  assert.deepEqual(snap.havePodsWithRequiredAntiAffinityList().map((n) => n.name), ['a']);
  cache.removeNode(makeNode('a'));
  cache.updateSnapshot(snap);
  assert.deepEqual(snap.list().map((n) => n.name), ['b']);
  assert.deepEqual(snap.havePodsWithAffinityList(), []);
  cache.removePod(anti);
  assert.deepEqual(cache.dump().nodes, { b: [] });
});

test('confirming an assumed pod on its node swaps the object in place; other changes go through remove + add', () => {
  const cache = new SchedulerCache(new FakeClock());
  const snap = new Snapshot();
  cache.addNode(makeNode('n', { cpu: '4' }));
  cache.addNode(makeNode('m', { cpu: '4' }));
  const a = makePod('a', { requests: { cpu: '1' }, labels: { app: 'x' } });
  const b = makePod('b', { requests: { cpu: '1' }, labels: { app: 'x' } });
  const c = makePod('c', { requests: { cpu: '1' }, labels: { app: 'x' } });
  for (const p of [a, b, c]) cache.assumePod({ ...p, spec: { ...p.spec!, nodeName: 'n' } }, 'n');
  cache.updateSnapshot(snap);
  const before = snap.get('n')!;

  // a: confirmed as assumed (same node, same labels) — the node is not copied again, its sums stay.
  const realA = { ...a, metadata: { ...a.metadata!, resourceVersion: '7' }, spec: { ...a.spec!, nodeName: 'n' } };
  cache.addPod(realA);
  assert.equal(cache.isAssumed(realA), false);
  cache.updateSnapshot(snap);
  assert.equal(snap.get('n'), before);
  // b: confirmed with different labels — the node is updated (InterPodAffinity/spread read existing pods' labels).
  cache.addPod({ ...b, metadata: { ...b.metadata!, labels: { app: 'y' } }, spec: { ...b.spec!, nodeName: 'n' } });
  cache.updateSnapshot(snap);
  const after = snap.get('n')!;
  assert.notEqual(after, before);
  assert.equal(after.requested.milliCPU, 3000);
  assert.equal(after.pods.find((p) => p.key === 'default/a')!.pod, realA, 'the next copy carries the confirmed object');
  assert.deepEqual(after.pods.find((p) => p.key === 'default/b')!.pod.metadata!.labels, { app: 'y' });
  // c: bound elsewhere than assumed — it moves.
  cache.addPod({ ...c, spec: { ...c.spec!, nodeName: 'm' } });
  cache.updateSnapshot(snap);
  assert.equal(snap.get('n')!.requested.milliCPU, 2000);
  assert.equal(snap.get('m')!.requested.milliCPU, 1000);
  assert.deepEqual(cache.dump(), { nodes: { n: ['default/a', 'default/b'], m: ['default/c'] }, assumed: [] });
  // A confirmed pod is no longer assumed: it never expires, and a later removal frees its node.
  cache.removePod(realA);
  cache.updateSnapshot(snap);
  assert.equal(snap.get('n')!.requested.milliCPU, 1000);
});
