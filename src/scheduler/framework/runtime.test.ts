import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { FakeClock } from '../../client/testing/fake-clock.js';
import { Scheduler } from '../scheduler.js';
import { defaultProfile, inTreeRegistry } from '../plugins/registry.js';
import { FakeCluster, makeNode, makePod, seededRng } from '../testing.js';
import { Code, CycleState, Status, type Handle, type NodeScore, type PermitPlugin, type ReservePlugin } from './interface.js';
import { defaultNormalizeScore, Framework } from './runtime.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** A Reserve + Permit plugin that records calls; Permit waits until the test allows or rejects. */
function recorder(log: string[], permit: 'allow' | 'wait' | 'reject' = 'allow', timeoutMs = 5_000) {
  return {
    name: 'Recorder',
    reserve(_s: CycleState, pod: Pod, node: string) {
      log.push(`reserve ${pod.metadata!.name} ${node}`);
      return null;
    },
    unreserve(_s: CycleState, pod: Pod, node: string) {
      log.push(`unreserve ${pod.metadata!.name} ${node}`);
    },
    permit(_s: CycleState, pod: Pod) {
      log.push(`permit ${pod.metadata!.name}`);
      if (permit === 'wait') return { status: new Status(Code.Wait), timeoutMs };
      if (permit === 'reject') return { status: Status.unschedulable('gang incomplete') };
      return { status: null };
    },
  } satisfies ReservePlugin & PermitPlugin;
}

function harness(plugin: ReturnType<typeof recorder>) {
  const clock = new FakeClock();
  const cluster = new FakeCluster();
  const registry = { ...inTreeRegistry(), Recorder: () => plugin };
  const profile = defaultProfile({ plugins: [{ name: 'Recorder' }] });
  const s = new Scheduler({ cluster, clock, rng: seededRng(3), profile, registry, logger: quiet });
  cluster.scheduler = s;
  s.onNodeAdd(makeNode('n'));
  return { clock, cluster, s };
}

test('Permit Wait holds the pod reserved until allowed, then binds', async () => {
  const log: string[] = [];
  const { s, cluster } = harness(recorder(log, 'wait'));
  s.onPodAdd(makePod('p'));
  const r = await s.scheduleOne(s.queue.tryPop()!);
  assert.equal(r.node, 'n');
  await new Promise((r) => setImmediate(r));
  assert.equal(cluster.bindings.size, 0, 'waiting, not bound');
  assert.deepEqual(s.cache.dump().assumed, ['default/p'], 'still reserved while waiting');
  let seen = 0;
  s.framework.handle.iterateWaitingPods((wp) => {
    seen++;
    assert.deepEqual(wp.pendingPlugins(), ['Recorder']);
    wp.allow('Recorder');
  });
  assert.equal(seen, 1);
  await s.idle();
  assert.equal(cluster.bindings.get('default/p'), 'n');
  assert.deepEqual(log, ['reserve p n', 'permit p']);
});

test('Permit Wait times out: the pod is unreserved and rejected with the timeout message', async () => {
  const log: string[] = [];
  const { s, cluster, clock } = harness(recorder(log, 'wait', 2_000));
  s.onPodAdd(makePod('p'));
  await s.scheduleOne(s.queue.tryPop()!);
  clock.advance(2_000);
  await s.idle();
  assert.equal(cluster.bindings.size, 0);
  assert.deepEqual(log, ['reserve p n', 'permit p', 'unreserve p n']);
  assert.deepEqual(s.cache.dump().nodes.n, [], 'reservation released');
  assert.equal(cluster.conditions.get('default/p')?.message, 'rejected due to timeout after waiting 2s at plugin Recorder');
  assert.equal(s.queue.where(makePod('x')), undefined);
  assert.equal(s.queue.lengths().unschedulable, 1);
});

test('a waiting pod rejected by a plugin is unreserved and requeued', async () => {
  const log: string[] = [];
  const { s, cluster } = harness(recorder(log, 'wait'));
  s.onPodAdd(makePod('p'));
  await s.scheduleOne(s.queue.tryPop()!);
  s.framework.handle.iterateWaitingPods((wp) => wp.reject('Recorder', 'gang member failed'));
  await s.idle();
  assert.deepEqual(log, ['reserve p n', 'permit p', 'unreserve p n']);
  assert.equal(cluster.conditions.get('default/p')?.message, 'gang member failed');
});

test('Permit rejection unreserves at once', async () => {
  const log: string[] = [];
  const { s, cluster } = harness(recorder(log, 'reject'));
  s.onPodAdd(makePod('p'));
  await s.scheduleOne(s.queue.tryPop()!);
  assert.deepEqual(log, ['reserve p n', 'permit p', 'unreserve p n']);
  assert.equal(cluster.conditions.get('default/p')?.reason, 'Unschedulable');
  assert.equal(cluster.bindings.size, 0);
});

test('Reserve/Unreserve around a failing bind', async () => {
  const log: string[] = [];
  const { s, cluster } = harness(recorder(log));
  cluster.failBind = () => new Error('pods "p" already bound');
  s.onPodAdd(makePod('p'));
  await s.scheduleOne(s.queue.tryPop()!);
  await s.idle();
  assert.deepEqual(log, ['reserve p n', 'permit p', 'unreserve p n']);
  assert.deepEqual(s.cache.dump(), { nodes: { n: [] }, assumed: [] });
  assert.equal(cluster.conditions.get('default/p')?.reason, 'SchedulerError');
  assert.equal(cluster.events.at(-1)?.reason, 'FailedScheduling');
});

test('a pod deleted while waiting on Permit never binds', async () => {
  const log: string[] = [];
  const { s, cluster } = harness(recorder(log, 'wait'));
  const pod = makePod('p');
  s.onPodAdd(pod);
  await s.scheduleOne(s.queue.tryPop()!);
  s.onPodDelete(pod);
  await s.idle();
  assert.equal(cluster.bindings.size, 0);
  assert.deepEqual(log, ['reserve p n', 'permit p', 'unreserve p n']);
});

test('the framework sorts plugins into extension points and validates the profile', () => {
  const handle = {} as Omit<Handle, 'getWaitingPod' | 'iterateWaitingPods' | 'rejectWaitingPod'>;
  const fw = new Framework({ profile: defaultProfile(), registry: inTreeRegistry(), handle, clock: new FakeClock() });
  assert.deepEqual(fw.filter.map((p) => p.name), ['NodeUnschedulable', 'NodeName', 'TaintToleration', 'NodeAffinity', 'NodeResourcesFit', 'PodTopologySpread', 'InterPodAffinity']);
  assert.deepEqual(fw.score.map((p) => `${p.plugin.name}:${p.weight}`), ['TaintToleration:3', 'NodeAffinity:2', 'NodeResourcesFit:1', 'PodTopologySpread:2', 'InterPodAffinity:2', 'NodeResourcesBalancedAllocation:1']);
  assert.throws(() => new Framework({ profile: { schedulerName: 'x', plugins: [{ name: 'Nope' }] }, registry: inTreeRegistry(), handle, clock: new FakeClock() }), /does not exist/);
  assert.throws(() => new Framework({ profile: { schedulerName: 'x', plugins: [{ name: 'NodeName' }] }, registry: inTreeRegistry(), handle, clock: new FakeClock() }), /QueueSort/);
});

test('PreFilter Skip skips that Filter; an out-of-range score is an Error', () => {
  const handle = {} as Omit<Handle, 'getWaitingPod' | 'iterateWaitingPods' | 'rejectWaitingPod'>;
  const calls: string[] = [];
  const registry = {
    ...inTreeRegistry(),
    Skipper: () => ({ name: 'Skipper', preFilter: () => ({ status: Status.skip() }), filter: () => { calls.push('filter'); return null; } }),
    Wild: () => ({ name: 'Wild', score: () => 101 }),
  };
  const fw = new Framework({ profile: { schedulerName: 'x', plugins: [{ name: 'PrioritySort' }, { name: 'DefaultBinder' }, { name: 'Skipper' }, { name: 'Wild' }] }, registry, handle, clock: new FakeClock() });
  const state = new CycleState();
  const ni = [] as never[];
  assert.equal(fw.runPreFilter(state, makePod('p'), ni).status, null);
  assert.equal(fw.runFilter(state, makePod('p'), {} as never), null);
  assert.deepEqual(calls, []);
  const r = fw.runScore(state, makePod('p'), [{ name: 'n' } as never]);
  assert.equal(r.status?.code, Code.Error);
});

test('defaultNormalizeScore as upstream', () => {
  const s = (xs: number[]): NodeScore[] => xs.map((score, i) => ({ name: String(i), score }));
  const cases: Array<[number[], boolean, number[]]> = [
    [[0, 5, 10], false, [0, 50, 100]],
    [[0, 5, 10], true, [100, 50, 0]],
    [[0, 0], false, [0, 0]],
    [[0, 0], true, [100, 100]],
    [[1, 3], false, [33, 100]],
  ];
  for (const [input, rev, want] of cases) {
    const x = s(input);
    defaultNormalizeScore(100, rev, x);
    assert.deepEqual(x.map((v) => v.score), want, `${input} reverse=${rev}`);
  }
});
