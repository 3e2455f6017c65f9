import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { FakeClock } from '../../client/testing/fake-clock.js';
import { ActionType, Code, Status, type ClusterEventWithHint, type QueuedPodInfo } from '../framework/interface.js';
import { less } from '../plugins/priority-sort/index.js';
import { makeNode, makePod } from '../testing.js';
import { SchedulingQueue } from './scheduling-queue.js';

const nodeAdd = { resource: 'Node' as const, actionType: ActionType.Add, label: 'NodeAdd' };
const podDelete = { resource: 'AssignedPod' as const, actionType: ActionType.Delete, label: 'AssignedPodDelete' };

function newQueue(events?: Map<string, ClusterEventWithHint[]>, preEnqueue?: (p: Pod) => Status | null) {
  const clock = new FakeClock();
  return { clock, q: new SchedulingQueue({ less, clock, events, preEnqueue }) };
}

const fail = (q: SchedulingQueue, qp: QueuedPodInfo, plugin: string, code = Code.Unschedulable) => {
  qp.unschedulablePlugins = new Set([plugin]);
  const s = new Status(code, ['no']);
  s.plugin = plugin;
  q.addUnschedulableIfNotPresent(qp, s);
};

test('activeQ pops by priority, then by queue time', () => {
  const { q, clock } = newQueue();
  q.add(makePod('low', { priority: 1 }));
  clock.advance(1);
  q.add(makePod('high-late', { priority: 10 }));
  q.add(makePod('mid', { priority: 5 }));
  clock.advance(1);
  q.add(makePod('high-later', { priority: 10 }));
  const order = [];
  for (let p = q.tryPop(); p; p = q.tryPop()) order.push(p.pod.metadata!.name);
  assert.deepEqual(order, ['high-late', 'high-later', 'mid', 'low']);
});

test('backoff doubles per attempt from 1 s up to 10 s', () => {
  const { q } = newQueue();
  const qp = { attempts: 0 } as QueuedPodInfo;
  const got = [1, 2, 3, 4, 5, 6, 10].map((a) => q.backoffDuration({ ...qp, attempts: a }));
  assert.deepEqual(got, [1000, 2000, 4000, 8000, 10000, 10000, 10000]);
});

test('an Error goes to backoffQ and returns to activeQ only when its backoff expired', () => {
  const { q, clock } = newQueue();
  q.add(makePod('p'));
  const qp = q.tryPop()!;
  q.addUnschedulableIfNotPresent(qp, Status.error(new Error('boom')));
  assert.equal(q.where(qp.pod), 'backoff');
  clock.advance(999);
  q.flushBackoffQCompleted();
  assert.equal(q.where(qp.pod), 'backoff');
  clock.advance(1);
  q.flushBackoffQCompleted();
  assert.equal(q.where(qp.pod), 'active');
  // Second failure: 2 s.
  const again = q.tryPop()!;
  q.addUnschedulableIfNotPresent(again, Status.error(new Error('boom')));
  clock.advance(1_500);
  q.flushBackoffQCompleted();
  assert.equal(q.where(again.pod), 'backoff');
  clock.advance(500);
  q.flushBackoffQCompleted();
  assert.equal(q.where(again.pod), 'active');
});

test('run() flushes backoffQ every second with the injected clock', () => {
  const { q, clock } = newQueue();
  q.run();
  q.add(makePod('p'));
  q.addUnschedulableIfNotPresent(q.tryPop()!, Status.error(new Error('x')));
  clock.advance(1_000);
  assert.equal(q.lengths().active, 1);
  q.close();
});

test('unschedulable pods move only on events their rejecting plugins registered, honouring hints and backoff', () => {
  const events = new Map<string, ClusterEventWithHint[]>([
    ['Fit', [{ event: podDelete }, { event: nodeAdd }]],
    ['Affinity', [{ event: nodeAdd, hint: (_p, _o, n) => ((n as ReturnType<typeof makeNode>).metadata?.labels?.disk === 'ssd' ? 'Queue' : 'QueueSkip') }]],
  ]);
  const { q, clock } = newQueue(events);
  q.add(makePod('fit'));
  q.add(makePod('aff'));
  const a = q.tryPop()!;
  const b = q.tryPop()!;
  fail(q, a, 'Fit');
  fail(q, b, 'Affinity');
  assert.deepEqual(q.lengths(), { active: 0, backoff: 0, unschedulable: 2, inFlight: 0 });

  q.moveAllToActiveOrBackoffQueue({ resource: 'Node', actionType: ActionType.UpdateNodeLabel, label: 'NodeUpdate' }, makeNode('x'), makeNode('x'));
  assert.equal(q.lengths().unschedulable, 2, 'nobody registered for label updates');

  q.moveAllToActiveOrBackoffQueue(nodeAdd, undefined, makeNode('hdd', { labels: { disk: 'hdd' } }));
  assert.equal(q.where(a.pod), 'backoff', 'Fit wants NodeAdd; still backing off (1 s)');
  assert.equal(q.where(b.pod), 'unschedulable', 'Affinity hint says QueueSkip');

  clock.advance(1_000);
  q.moveAllToActiveOrBackoffQueue(nodeAdd, undefined, makeNode('ssd', { labels: { disk: 'ssd' } }));
  assert.equal(q.where(b.pod), 'active', 'hint says Queue and backoff is over');
});

test('an event seen while the pod was in flight requeues it instead of parking it', () => {
  const { q } = newQueue(new Map([['Fit', [{ event: podDelete }]]]));
  q.add(makePod('p'));
  const qp = q.tryPop()!;
  q.moveAllToActiveOrBackoffQueue(podDelete, makePod('gone'), undefined);
  fail(q, qp, 'Fit');
  assert.equal(q.where(qp.pod), 'backoff');
});

test('in-flight events: each pod sees exactly the events since its pop, across many pods and trims of the log', () => {
  const { q } = newQueue(new Map([['Fit', [{ event: podDelete }]]]));
  for (let i = 0; i < 3; i++) q.add(makePod(`p${i}`));
  const early = q.tryPop()!;
  // Hundreds of pods in flight and done, and many unrelated events, while `early` stays in flight.
  for (let i = 0; i < 600; i++) {
    q.add(makePod(`x${i}`));
    const x = q.tryPop()!;
    q.moveAllToActiveOrBackoffQueue(nodeAdd, undefined, makeNode(`n${i}`));
    q.done(x.pod);
  }
  q.moveAllToActiveOrBackoffQueue(podDelete, makePod('gone'), undefined);
  const late = q.tryPop()!;
  for (let i = 0; i < 600; i++) q.moveAllToActiveOrBackoffQueue(nodeAdd, undefined, makeNode(`m${i}`));
  fail(q, early, 'Fit');
  assert.equal(q.where(early.pod), 'backoff', 'the AssignedPodDelete seen in flight requeues it');
  fail(q, late, 'Fit');
  assert.equal(q.where(late.pod), 'unschedulable', 'popped after the delete: only NodeAdds, which Fit ignores here');
  const last = q.tryPop()!;
  fail(q, last, 'Fit');
  assert.equal(q.where(last.pod), 'unschedulable', 'nothing happened while it was in flight');
  assert.equal(q.lengths().inFlight, 0);
});

test('pods stuck unschedulable for 5 minutes are flushed', () => {
  const { q, clock } = newQueue(new Map([['Fit', [{ event: podDelete }]]]));
  q.add(makePod('p'));
  const qp = q.tryPop()!;
  fail(q, qp, 'Fit');
  clock.advance(5 * 60_000);
  q.flushUnschedulableLeftover();
  assert.equal(q.where(qp.pod), 'unschedulable');
  clock.advance(1);
  q.flushUnschedulableLeftover();
  assert.equal(q.where(qp.pod), 'active');
});

test('updates: a spec change moves an unschedulable pod; a status-only change does not; delete forgets', () => {
  const { q, clock } = newQueue(new Map([['Fit', [{ event: podDelete }]]]));
  const pod = makePod('p');
  q.add(pod);
  fail(q, q.tryPop()!, 'Fit');
  clock.advance(2_000);
  q.update(pod, { ...pod, status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False' }] } });
  assert.equal(q.where(pod), 'unschedulable');
  const relabeled = { ...pod, metadata: { ...pod.metadata, labels: { a: 'b' } } };
  q.update(pod, relabeled);
  assert.equal(q.where(pod), 'active');
  q.delete(pod);
  assert.equal(q.where(pod), undefined);
});

test('PreEnqueue gates keep a pod out of activeQ until an update lets it through', () => {
  const gated = (p: Pod) => (p.spec?.schedulingGates?.length ? Object.assign(new Status(Code.UnschedulableAndUnresolvable, ['gated']), { plugin: 'SchedulingGates' }) : null);
  const { q } = newQueue(undefined, gated);
  const pod = makePod('p');
  pod.spec!.schedulingGates = [{ name: 'wait' }];
  q.add(pod);
  assert.equal(q.where(pod), 'gated');
  q.update(pod, { ...pod, spec: { ...pod.spec!, schedulingGates: [] } });
  assert.equal(q.where(pod), 'active');
});

test('pop() waits for a pod and resolves undefined on close', async () => {
  const { q } = newQueue();
  const waiting = q.pop();
  q.add(makePod('p'));
  assert.equal((await waiting)?.pod.metadata?.name, 'p');
  const pending = q.pop();
  q.close();
  assert.equal(await pending, undefined);
});

test('hasWork: pods in activeQ or popped and not yet done; not pods waiting in backoff or unschedulable', () => {
  const { q } = newQueue();
  assert.equal(q.hasWork(), false);
  q.add(makePod('a'));
  assert.equal(q.hasWork(), true, 'in activeQ');
  const qp = q.tryPop()!;
  assert.equal(q.hasWork(), true, 'popped, being scheduled or bound');
  fail(q, qp, 'NodeResourcesFit');
  assert.equal(q.lengths().unschedulable, 1);
  assert.equal(q.hasWork(), false, 'parked as unschedulable');
  q.add(makePod('b'));
  const qb = q.tryPop()!;
  q.done(qb.pod);
  assert.equal(q.hasWork(), false, 'bound');
});
