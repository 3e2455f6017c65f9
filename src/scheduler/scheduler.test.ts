import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../client/testing/fake-clock.js';
import { Code, Status } from './framework/interface.js';
import { defaultProfile } from './plugins/registry.js';
import { fitErrorMessage, numFeasibleNodesToFind, Scheduler, type Diagnosis } from './scheduler.js';
import { FakeCluster, makeNode, makePod, seededRng } from './testing.js';
import { matches } from '../api/labels.js';

function harness(opts: { profile?: ReturnType<typeof defaultProfile> } = {}) {
  const clock = new FakeClock();
  const cluster = new FakeCluster();
  const s = new Scheduler({ cluster, clock, rng: seededRng(7), profile: opts.profile, logger: { debug() {}, info() {}, warn() {}, error() {} } });
  cluster.scheduler = s;
  /** Runs cycles until the active queue is empty, then waits for bindings. */
  const drain = async () => {
    for (let q = s.queue.tryPop(); q; q = s.queue.tryPop()) await s.scheduleOne(q);
    await s.idle();
  };
  return { clock, cluster, s, drain };
}

test('numFeasibleNodesToFind follows the upstream adaptive formula', () => {
  const cases: Array<[number, number, number]> = [
    [0, 50, 50], // below 100 nodes: all
    [0, 99, 99],
    [0, 100, 100], // 49 % of 100 = 49 → at least 100
    [0, 1000, 420], // 50 − 8 = 42 %
    [0, 5000, 500], // 50 − 40 = 10 %
    [0, 6000, 300], // 50 − 48 = 2 % → 5 %
    [0, 1_000_000, 50_000],
    [30, 1000, 300],
    [100, 1000, 1000],
    [1, 1000, 100],
  ];
  for (const [pct, n, want] of cases) assert.equal(numFeasibleNodesToFind(pct, n), want, `pct=${pct} nodes=${n}`);
});

test('fitErrorMessage counts reasons per node, sorts like Go sort.Strings, appends the PostFilter message', () => {
  const d: Diagnosis = {
    statuses: new Map([
      ['a', Status.unschedulable('Insufficient nvidia.com/gpu')],
      ['b', Status.unschedulable('Insufficient nvidia.com/gpu')],
      ['c', Status.unschedulable('Insufficient nvidia.com/gpu', 'Insufficient cpu')],
      ['d', Status.unresolvable('node(s) had untolerated taint {gpu: true}')],
      ['e', Status.unresolvable('node(s) had untolerated taint {gpu: true}')],
    ]),
    absentNodesStatus: new Status(Code.UnschedulableAndUnresolvable),
    unschedulablePlugins: new Set(),
    postFilterMsg: 'preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling',
  };
  assert.equal(
    fitErrorMessage(5, d),
    '0/5 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {gpu: true}, 3 Insufficient nvidia.com/gpu. preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling.',
  );
  assert.equal(
    fitErrorMessage(3, { statuses: new Map(), absentNodesStatus: new Status(Code.UnschedulableAndUnresolvable), unschedulablePlugins: new Set(), preFilterMsg: "node(s) didn't match Pod's node affinity/selector" }),
    "0/3 nodes are available: node(s) didn't match Pod's node affinity/selector.",
  );
});

test('schedules pods onto fitting nodes, spreading by LeastAllocated, and records Scheduled events', async () => {
  const { s, cluster, drain } = harness();
  s.onNodeAdd(makeNode('n1', { cpu: '2' }));
  s.onNodeAdd(makeNode('n2', { cpu: '2' }));
  for (let i = 0; i < 4; i++) s.onPodAdd(makePod(`p${i}`, { requests: { cpu: '500m', memory: '1Gi' } }));
  await drain();
  const counts = new Map<string, number>();
  for (const n of cluster.bindings.values()) counts.set(n, (counts.get(n) ?? 0) + 1);
  assert.deepEqual([...counts.entries()].sort(), [['n1', 2], ['n2', 2]]);
  assert.equal(cluster.events.filter((e) => e.reason === 'Scheduled').length, 4);
  assert.match(cluster.events[0]!.message, /^Successfully assigned default\/p\d to n\d$/);
  assert.deepEqual(s.cache.dump().assumed, []);
});

test('an unschedulable pod gets PodScheduled=False and FailedScheduling with the upstream message, and waits for a node', async () => {
  const { s, cluster, drain } = harness();
  s.onNodeAdd(makeNode('cpu-1'));
  s.onNodeAdd(makeNode('cpu-2'));
  s.onNodeAdd(makeNode('cpu-3'));
  s.onNodeAdd(makeNode('gpu-1', { extended: { 'nvidia.com/gpu': '1' }, taints: [{ key: 'gpu', value: 'true', effect: 'NoSchedule' }] }));
  s.onNodeAdd(makeNode('gpu-2', { extended: { 'nvidia.com/gpu': '1' }, taints: [{ key: 'gpu', value: 'true', effect: 'NoSchedule' }] }));
  s.onPodAdd(makePod('train', { requests: { 'nvidia.com/gpu': '1' } }));
  await drain();
  const msg = '0/5 nodes are available: 2 node(s) had untolerated taint {gpu: true}, 3 Insufficient nvidia.com/gpu. preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling.';
  assert.deepEqual(cluster.conditions.get('default/train'), { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: msg });
  assert.deepEqual(cluster.events.map((e) => [e.type, e.reason, e.message]), [['Warning', 'FailedScheduling', msg]]);
  assert.equal(s.queue.where(makePod('train')), undefined); // uid differs; look at the queue lengths instead
  assert.equal(s.queue.lengths().unschedulable, 1);

  // A node label change does not help (no rejecting plugin registered for it with a Queue hint) …
  const old = makeNode('cpu-1');
  s.onNodeUpdate(old, { ...old, metadata: { ...old.metadata, labels: { ...old.metadata!.labels, x: 'y' } } });
  assert.equal(s.queue.lengths().unschedulable, 1);
  // … a new GPU node without taints does: the pod goes to backoff, then active, then binds.
  s.onNodeAdd(makeNode('gpu-3', { extended: { 'nvidia.com/gpu': '2' } }));
  assert.equal(s.queue.lengths().backoff + s.queue.lengths().active, 1);
  const clock = (s as unknown as { clock: FakeClock }).clock;
  clock.advance(1_000);
  s.queue.flushBackoffQCompleted();
  await drain();
  assert.equal(cluster.bindings.get('default/train'), 'gpu-3');
});

test('tolerations, node selectors and required affinity steer pods as upstream', async () => {
  const { s, cluster, drain } = harness();
  s.onNodeAdd(makeNode('plain'));
  s.onNodeAdd(makeNode('tainted', { taints: [{ key: 'dedicated', value: 'ml', effect: 'NoSchedule' }], labels: { pool: 'ml' } }));
  s.onNodeAdd(makeNode('ssd', { labels: { disk: 'ssd', zone: 'a' } }));
  s.onPodAdd(makePod('sel', { nodeSelector: { disk: 'ssd' } }));
  s.onPodAdd(makePod('tol', { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'ml', effect: 'NoSchedule' }], nodeSelector: { pool: 'ml' } }));
  s.onPodAdd(makePod('aff', { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a', 'b'] }] }] } } } }));
  s.onPodAdd(makePod('byname', { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['plain'] }] }] } } } }));
  s.onPodAdd(makePod('nowhere', { nodeSelector: { disk: 'nvme' } }));
  await drain();
  assert.equal(cluster.bindings.get('default/sel'), 'ssd');
  assert.equal(cluster.bindings.get('default/tol'), 'tainted');
  assert.equal(cluster.bindings.get('default/aff'), 'ssd');
  assert.equal(cluster.bindings.get('default/byname'), 'plain');
  assert.equal(cluster.conditions.get('default/nowhere')?.message,
    "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: ml}, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.");
});

test('preferred affinity and PreferNoSchedule taints decide among feasible nodes', async () => {
  const { s, cluster, drain } = harness();
  s.onNodeAdd(makeNode('a', { labels: { tier: 'gold' }, taints: [{ key: 'soft', effect: 'PreferNoSchedule' }] }));
  s.onNodeAdd(makeNode('b', { labels: { tier: 'gold' } }));
  s.onNodeAdd(makeNode('c'));
  s.onPodAdd(makePod('p', { affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, preference: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['gold'] }] } }] } } }));
  await drain();
  assert.equal(cluster.bindings.get('default/p'), 'b');
});

test('MostAllocated bin-packs GPU pods onto the fullest node', async () => {
  const profile = defaultProfile({ plugins: [{ name: 'NodeResourcesFit', args: { scoringStrategy: { type: 'MostAllocated', resources: [{ name: 'nvidia.com/gpu', weight: 1 }] } } }] });
  const { s, cluster, drain } = harness({ profile });
  for (const n of ['g1', 'g2', 'g3']) s.onNodeAdd(makeNode(n, { extended: { 'nvidia.com/gpu': '4' } }));
  for (let i = 0; i < 6; i++) {
    s.onPodAdd(makePod(`job${i}`, { requests: { 'nvidia.com/gpu': '1' } }));
    await drain();
  }
  const used = new Set(cluster.bindings.values());
  assert.equal(used.size, 2, `6 single-GPU pods fill one 4-GPU node first, then a second: ${[...cluster.bindings.values()]}`);
});

test('higher priority pods are scheduled first', async () => {
  const { s, cluster, drain } = harness();
  s.onNodeAdd(makeNode('only', { cpu: '1' }));
  s.onPodAdd(makePod('low', { requests: { cpu: '1' }, priority: 0 }));
  s.onPodAdd(makePod('high', { requests: { cpu: '1' }, priority: 1000 }));
  await drain();
  assert.deepEqual([...cluster.bindings], [['default/high', 'only']]);
  assert.match(cluster.conditions.get('default/low')!.message!, /^0\/1 nodes are available: 1 Insufficient cpu\. preemption: 0\/1 nodes are available: 1 No preemption victims found for incoming pod\.$/);
});

test('pods for other schedulers and already-bound pods are left alone; bound pods count in the cache', async () => {
  const { s, cluster, drain } = harness();
  s.onNodeAdd(makeNode('n', { pods: 2 }));
  s.onPodAdd(makePod('other', { schedulerName: 'volcano' }));
  s.onPodAdd(makePod('bound', { nodeName: 'n' }));
  s.onPodAdd(makePod('mine'));
  s.onPodAdd(makePod('too-many'));
  await drain();
  assert.deepEqual([...cluster.bindings.keys()].sort(), ['default/mine']);
  assert.equal(cluster.conditions.get('default/too-many')?.message, '0/1 nodes are available: 1 Too many pods. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.');
});

test('a failed binding unreserves the pod, frees the node and retries after backoff', async () => {
  const { s, cluster, clock, drain } = harness();
  s.onNodeAdd(makeNode('n', { cpu: '1' }));
  let fail = true;
  cluster.failBind = () => (fail ? new Error('etcd timeout') : undefined);
  s.onPodAdd(makePod('p', { requests: { cpu: '1' } }));
  await drain();
  assert.equal(cluster.bindings.size, 0);
  assert.deepEqual(s.cache.dump().nodes.n, []);
  assert.equal(cluster.conditions.get('default/p')?.reason, 'SchedulerError');
  assert.equal(s.queue.lengths().backoff, 1);
  fail = false;
  clock.advance(1_000);
  s.queue.flushBackoffQCompleted();
  await drain();
  assert.equal(cluster.bindings.get('default/p'), 'n');
});

test('with no nodes the pod is retried with SchedulerError "no nodes available to schedule pods"', async () => {
  const { s, cluster, drain } = harness();
  s.onPodAdd(makePod('p'));
  await drain();
  assert.deepEqual(cluster.conditions.get('default/p'), { type: 'PodScheduled', status: 'False', reason: 'SchedulerError', message: 'no nodes available to schedule pods' });
});

test('the filter pass stops at the adaptive number of feasible nodes and rotates its start index', async () => {
  const { s, drain } = harness();
  for (let i = 0; i < 1000; i++) s.onNodeAdd(makeNode(`n${String(i).padStart(4, '0')}`));
  const results: Array<{ evaluated?: number; feasible?: number }> = [];
  s.onScheduled = (r) => results.push({ evaluated: r.evaluatedNodes, feasible: r.feasibleNodes });
  s.onPodAdd(makePod('a'));
  s.onPodAdd(makePod('b'));
  await drain();
  assert.deepEqual(results, [{ evaluated: 420, feasible: 420 }, { evaluated: 420, feasible: 420 }]);
});

test('the loop runs on start() and stops cleanly', async () => {
  const clock = new FakeClock();
  const cluster = new FakeCluster();
  const s = new Scheduler({ cluster, clock, rng: seededRng(1), logger: { debug() {}, info() {}, warn() {}, error() {} } });
  cluster.scheduler = s;
  s.onNodeAdd(makeNode('n'));
  s.start();
  s.onPodAdd(makePod('p'));
  for (let i = 0; i < 50 && !cluster.bindings.size; i++) await new Promise((r) => setImmediate(r));
  assert.equal(cluster.bindings.get('default/p'), 'n');
  await s.stop();
});

test('InterPodAffinity namespaceSelector through the profile: the namespace lister decides which pods a term sees', async () => {
  const namespaces = [
    { metadata: { name: 'team-a', labels: { team: 'a' } } },
    { metadata: { name: 'team-b', labels: { team: 'b' } } },
  ];
  const namespaceLister = {
    get: (_ns: undefined, name: string) => namespaces.find((n) => n.metadata.name === name),
    list: (_ns?: undefined, sel?: Parameters<typeof matches>[0]) => namespaces.filter((n) => !sel || matches(sel, n.metadata.labels)),
  };
  const profile = defaultProfile({ plugins: [{ name: 'InterPodAffinity', args: { namespaceLister } }] });
  const { s, cluster, drain } = harness({ profile });
  for (const n of ['n1', 'n2', 'n3']) s.onNodeAdd(makeNode(n, { labels: { 'kubernetes.io/hostname': n } }));
  // Existing pods labelled app=db: one in team-a on n1, one in team-b on n2.
  for (const [ns, node] of [['team-a', 'n1'], ['team-b', 'n2']] as const) {
    const p = makePod(`db-${ns}`, { namespace: ns, labels: { app: 'db' } });
    p.spec!.nodeName = node;
    s.onPodAdd(p);
  }
  const anti = (name: string, namespaceSelector: Record<string, unknown>) => makePod(name, {
    namespace: 'default',
    affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'db' } }, namespaceSelector, topologyKey: 'kubernetes.io/hostname' }] } },
  });
  // Selector team=a: only the team-a pod repels, so n1 is out and n2 is allowed.
  s.onPodAdd(anti('x', { matchLabels: { team: 'a' } }));
  await drain();
  assert.notEqual(cluster.bindings.get('default/x'), 'n1');
  // Empty selector: every namespace, so both n1 and n2 are out.
  for (let i = 0; i < 3; i++) s.onPodAdd(anti(`all-${i}`, {}));
  await drain();
  for (let i = 0; i < 3; i++) assert.equal(cluster.bindings.get(`default/all-${i}`), 'n3', `all-${i}`);
  // Affinity with selector team=b must land next to the team-b pod (n2).
  s.onPodAdd(makePod('near-b', { namespace: 'default', affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'db' } }, namespaceSelector: { matchLabels: { team: 'b' } }, topologyKey: 'kubernetes.io/hostname' }] } } }));
  await drain();
  assert.equal(cluster.bindings.get('default/near-b'), 'n2');
});

test('selectHost picks uniformly among the best-scoring nodes with the default and with an injected source', async () => {
  const nodes = ['a', 'b', 'c', 'd', 'e'].map((name) => ({ name }));
  const totals = [5, 9, 3, 9, 9];
  const quiet = { debug() {}, info() {}, warn() {}, error() {} };
  for (const rng of [undefined, seededRng(3)]) {
    const s = new Scheduler({ cluster: new FakeCluster(), clock: new FakeClock(), rng, logger: quiet });
    const pick = (s as unknown as { selectHost(n: unknown[], t: number[]): string }).selectHost.bind(s);
    const seen = new Map<string, number>();
    for (let i = 0; i < 600; i++) {
      const h = pick(nodes, totals);
      seen.set(h, (seen.get(h) ?? 0) + 1);
    }
    assert.deepEqual([...seen.keys()].sort(), ['b', 'd', 'e'], `rng ${rng ? 'seeded' : 'default'}`);
    for (const [h, n] of seen) assert.ok(n > 100, `${h} chosen ${n}/600 times`);
    assert.equal(pick(nodes, [1, 2, 7, 3, 0]), 'c');
    await s.stop();
  }
});
