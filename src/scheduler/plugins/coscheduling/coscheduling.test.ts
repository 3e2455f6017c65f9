import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Affinity, Pod, TopologySpreadConstraint } from 'kubernetes-types/core/v1.js';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import { FakeClock } from '../../../client/testing/fake-clock.js';
import { defaultProfile } from '../registry.js';
import { Scheduler } from '../../scheduler.js';
import type { ClusterApi } from '../../framework/interface.js';
import { FakeCluster, makeNode, makePod, seededRng } from '../../testing.js';
import { POD_GROUP_LABEL, podGroupStatus, type PodGroup } from './coscheduling.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

function harness(groups: PodGroup[], pdbs: PodDisruptionBudget[] = []) {
  const clock = new FakeClock();
  const cluster = new FakeCluster();
  const pods: Pod[] = [];
  const args = {
    listPDBs: () => pdbs,
    getPodGroup: (ns: string, name: string) => groups.find((g) => g.metadata!.namespace === ns && g.metadata!.name === name),
    listGroupPods: (ns: string, name: string) => pods.filter((p) => p.metadata!.namespace === ns && p.metadata!.labels?.[POD_GROUP_LABEL] === name),
    setTimer: (fn: () => void, ms: number) => { clock.setTimer(fn, ms); },
  };
  const s = new Scheduler({ cluster, clock, rng: seededRng(5), profile: defaultProfile({ plugins: [{ name: 'Coscheduling', args }] }), logger: quiet });
  cluster.scheduler = s;
  const add = (p: Pod) => { pods.push(p); s.onPodAdd(p); };
  const drain = async () => {
    for (let i = 0; i < 20; i++) {
      for (let q = s.queue.tryPop(); q; q = s.queue.tryPop()) await s.scheduleOne(q);
      await new Promise((r) => setImmediate(r));
      if (!s.queue.lengths().active) break;
    }
  };
  return { clock, cluster, s, add, drain };
}

const group = (name: string, minMember: number, timeout?: number): PodGroup => ({ metadata: { name, namespace: 'default' }, spec: { minMember, ...(timeout ? { scheduleTimeoutSeconds: timeout } : {}) } });
const member = (name: string, g: string, cpu = '1') => makePod(name, { labels: { [POD_GROUP_LABEL]: g }, requests: { cpu } });
const boundTo = (c: FakeCluster, prefix: string) => [...c.bindings.keys()].filter((k) => k.startsWith(`default/${prefix}`)).length;

test('two groups competing for room for one: exactly one binds fully, the other nothing, a small pod is not blocked', async () => {
  for (const order of ['sequential', 'interleaved']) {
    const h = harness([group('a', 3), group('b', 3)]);
    h.s.onNodeAdd(makeNode('n1', { cpu: '2' }));
    h.s.onNodeAdd(makeNode('n2', { cpu: '2' }));
    const a = [1, 2, 3].map((i) => member(`a${i}`, 'a'));
    const b = [1, 2, 3].map((i) => member(`b${i}`, 'b'));
    const all = order === 'sequential' ? [...a, ...b] : [a[0]!, b[0]!, a[1]!, b[1]!, a[2]!, b[2]!];
    for (const p of all) { h.add(p); h.clock.advance(1); }
    await h.drain();
    await h.s.idle();
    const na = boundTo(h.cluster, 'a');
    const nb = boundTo(h.cluster, 'b');
    assert.ok((na === 3 && nb === 0) || (na === 0 && nb === 3), `${order}: a=${na} b=${nb}`);
    h.add(makePod('small', { requests: { cpu: '1' } }));
    await h.drain();
    await h.s.idle();
    assert.ok(h.cluster.bindings.has('default/small'), `${order}: the small pod binds`);
    // The losing group keeps explaining itself and still binds nothing after its backoff.
    h.clock.advance(30_000);
    h.s.queue.flushBackoffQCompleted();
    await h.drain();
    await h.s.idle();
    assert.equal(boundTo(h.cluster, 'a') + boundTo(h.cluster, 'b'), 3, order);
  }
});

test('a group with fewer pods than minMember is rejected with the counts', async () => {
  const h = harness([group('g', 3)]);
  h.s.onNodeAdd(makeNode('n1'));
  h.add(member('g1', 'g'));
  await h.drain();
  assert.equal(h.cluster.conditions.get('default/g1')?.message, '0/1 nodes are available: pre-filter pod g1 cannot find enough sibling pods, current pods number: 1, minMember of group: 3.');
  h.add(member('g2', 'g'));
  h.add(member('g3', 'g'));
  h.clock.advance(20_000);
  h.s.queue.flushBackoffQCompleted();
  await h.drain();
  await h.s.idle();
  assert.equal(boundTo(h.cluster, 'g'), 3);
});

test('a group whose last member never gets scheduled times out and releases every reservation', async () => {
  const h = harness([group('t', 3, 5)]);
  h.s.onNodeAdd(makeNode('n1', { cpu: '4' }));
  h.add(member('t1', 't'));
  h.add(member('t2', 't'));
  const gated = makePod('t3', { labels: { [POD_GROUP_LABEL]: 't' }, schedulerName: 'another-scheduler' });
  h.add(gated); // exists (counts for minMember) but is never scheduled
  await h.drain();
  assert.equal(h.s.debugState().cache.assumed.length, 2, 'two members hold reservations while waiting');
  h.clock.advance(5_001);
  await h.s.idle();
  assert.equal(h.cluster.bindings.size, 0, 'no partial group binds');
  assert.equal(h.s.debugState().cache.assumed.length, 0, 'reservations released');
  assert.match(h.cluster.events.find((e) => e.pod === 'default/t1' && e.reason === 'FailedScheduling')!.message, /timeout|rejected/);
});

test('a group that does not fit in the aggregate is rejected before reserving anything; no preemption for it', async () => {
  const h = harness([group('big', 3)]);
  h.s.onNodeAdd(makeNode('n1', { cpu: '2' }));
  const low = makePod('low', { nodeName: 'n1', priority: -1, requests: { cpu: '1' } });
  h.s.onPodAdd(low);
  for (let i = 1; i <= 3; i++) h.add(member(`big${i}`, 'big'));
  await h.drain();
  await h.s.idle();
  assert.equal(h.cluster.bindings.size, 0);
  assert.deepEqual(h.cluster.deleted, [], 'evicts nobody when the whole group cannot fit');
  assert.match(h.cluster.conditions.get('default/big1')!.message!, /pod group default\/big/);
});

test('gang preemption: evicts lower-priority pods only when that frees room for minMember members at once', async () => {
  // Two 2-core nodes full of 1-core priority-0 pods; a group of three 1-core priority-100 members.
  const setup = (minMember: number) => {
    const h = harness([group('hi', minMember)]);
    h.s.onNodeAdd(makeNode('n1', { cpu: '2' }));
    h.s.onNodeAdd(makeNode('n2', { cpu: '2' }));
    const low = [1, 2, 3, 4].map((i) => makePod(`low${i}`, { nodeName: i <= 2 ? 'n1' : 'n2', priority: 0, requests: { cpu: '1' } }));
    for (const p of low) h.s.onPodAdd(p);
    const members = Array.from({ length: minMember }, (_, i) => {
      const m = member(`hi${i + 1}`, 'hi');
      m.spec!.priority = 100;
      return m;
    });
    return { h, low, members };
  };

  {
    const { h, low, members } = setup(3);
    for (const m of members) h.add(m);
    await h.drain();
    await h.s.idle();
    assert.equal(h.cluster.bindings.size, 0, 'nothing binds before the victims are gone');
    assert.equal(h.cluster.deleted.length, 3, `exactly the room for three members is freed: ${h.cluster.deleted}`);
    // The victims go away (the kubelet stops them); the group then schedules as a whole.
    for (const v of low.filter((p) => h.cluster.deleted.includes(`default/${p.metadata!.name}`))) h.s.onPodDelete(v);
    h.clock.advance(30_000);
    h.s.queue.flushBackoffQCompleted();
    await h.drain();
    await h.s.idle();
    assert.equal(boundTo(h.cluster, 'hi'), 3, 'the whole group binds');
    assert.equal(h.cluster.deleted.length, 3, 'no further evictions');
  }
  {
    // Five members need five cores; evicting every low pod frees only four: evict nobody.
    const { h, members } = setup(5);
    for (const m of members) h.add(m);
    await h.drain();
    await h.s.idle();
    assert.deepEqual(h.cluster.deleted, [], 'evicts nobody when eviction cannot fit the whole group');
    assert.equal(h.cluster.bindings.size, 0);
    assert.match(h.cluster.conditions.get('default/hi1')!.message!, /pod group default\/hi/);
  }
});

test('QueueSort: members of a PodGroup are popped consecutively (priority, group creation time, group key)', () => {
  const groups = [
    { metadata: { name: 'late', namespace: 'default', creationTimestamp: '2024-01-01T00:00:10Z' }, spec: { minMember: 2 } },
    { metadata: { name: 'early', namespace: 'default', creationTimestamp: '2024-01-01T00:00:05Z' }, spec: { minMember: 2 } },
    { metadata: { name: 'tie-b', namespace: 'default', creationTimestamp: '2024-01-01T00:00:07Z' }, spec: { minMember: 2 } },
    { metadata: { name: 'tie-a', namespace: 'default', creationTimestamp: '2024-01-01T00:00:07Z' }, spec: { minMember: 2 } },
  ];
  const h = harness(groups);
  h.clock.advance(Date.parse('2024-01-01T00:01:00Z') - h.clock.now());
  // Interleaved arrival; a plain pod arrives first; a high-priority member of "late" last.
  const plain = makePod('plain');
  h.add(plain);
  h.clock.advance(1);
  for (const [name, g] of [['l1', 'late'], ['b1', 'tie-b'], ['e1', 'early'], ['a1', 'tie-a'], ['l2', 'late'], ['b2', 'tie-b'], ['e2', 'early'], ['a2', 'tie-a']]) {
    h.add(member(name!, g!));
    h.clock.advance(1);
  }
  const vip = member('vip', 'late');
  vip.spec!.priority = 10;
  h.add(vip);
  const order: string[] = [];
  for (let q = h.s.queue.tryPop(); q; q = h.s.queue.tryPop()) order.push(q.pod.metadata!.name!);
  // Groups by creation time (ties by key), all before the plain pod, which entered the queue later than they were created.
  assert.deepEqual(order, ['vip', 'e1', 'e2', 'a1', 'a2', 'b1', 'b2', 'l1', 'l2', 'plain']);
});

test('podGroupStatus phases and counts', () => {
  const pg = group('g', 2);
  const p = (phase: string, node?: string): Pod => ({ ...makePod('x', { nodeName: node }), status: { phase } });
  const cases: Array<[Pod[], string]> = [
    [[p('Pending')], 'Pending'],
    [[p('Pending'), p('Pending')], 'PreScheduling'],
    [[p('Pending', 'n'), p('Pending')], 'Scheduling'],
    [[p('Pending', 'n'), p('Pending', 'n')], 'Scheduled'],
    [[p('Running', 'n'), p('Running', 'n')], 'Running'],
    [[p('Succeeded', 'n'), p('Succeeded', 'n')], 'Finished'],
    [[p('Failed', 'n'), p('Running', 'n')], 'Failed'],
  ];
  for (const [pods, want] of cases) assert.equal(podGroupStatus(pg, pods).phase, want);
  assert.deepEqual(podGroupStatus(pg, [p('Running', 'n'), p('Pending', 'n')]), { phase: 'Scheduled', scheduled: 2, running: 1, succeeded: 0, failed: 0 });
});

test('gang preemption uses the full filter set, PDBs and the plan so far (table)', async () => {
  const zone = (z: string) => ({ 'topology.kubernetes.io/zone': z });
  const antiSelf: Affinity = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { [POD_GROUP_LABEL]: 'hi' } }, topologyKey: 'kubernetes.io/hostname' }] } };
  const antiGuard: Affinity = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'guard' } }, topologyKey: 'kubernetes.io/hostname' }] } };
  const spreadZones: TopologySpreadConstraint[] = [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { [POD_GROUP_LABEL]: 'hi' } } }];
  const pdb = (labels: Record<string, string>, allowed: number): PodDisruptionBudget => ({
    metadata: { name: `pdb-${allowed}`, namespace: 'default' }, spec: { selector: { matchLabels: labels } }, status: { disruptionsAllowed: allowed, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 },
  });
  type M = { cpu?: string; affinity?: Affinity; spread?: TopologySpreadConstraint[]; nodeSelector?: Record<string, string> };
  const cases: Array<{
    name: string; nodes: Array<[string, string, Record<string, string>?]>; running: Array<[string, string, number, string, Record<string, string>?]>;
    members: M[]; pdbs?: PodDisruptionBudget[]; wantDeleted: string[]; wantMessage?: RegExp; wantSpread?: boolean;
  }> = [
    {
      name: 'a member blocked by required anti-affinity on the only other evictable node: evict nobody',
      nodes: [['n1', '2'], ['n2', '3']],
      running: [['low1', 'n1', 0, '2'], ['guard', 'n2', 1000, '1', { app: 'guard' }], ['low2', 'n2', 0, '2']],
      members: [{ cpu: '2', affinity: antiGuard }, { cpu: '2', affinity: antiGuard }],
      wantDeleted: [],
      wantMessage: /preemption cannot make room for the whole group: member hi\d: 0\/2 nodes are available: 1 No preemption victims found for incoming pod, 1 node\(s\) didn't match pod anti-affinity rules/,
    },
    {
      name: 'topology spread between members: the second member cannot join the first zone, the other zone cannot be freed',
      nodes: [['n1', '2', zone('a')], ['n2', '2', zone('b')]],
      running: [['low-a', 'n1', 0, '2'], ['vip-b', 'n2', 1000, '2']],
      members: [{ spread: spreadZones }, { spread: spreadZones }],
      wantDeleted: [],
      // n1 (room left after the first member) fails on spread and n2 on cpu; neither has a pod the plan may evict.
      wantMessage: /member hi\d: 0\/2 nodes are available: 2 No preemption victims found for incoming pod/,
    },
    {
      name: 'topology spread between members: evictions in both zones',
      nodes: [['n1', '2', zone('a')], ['n2', '2', zone('b')]],
      running: [['low-a', 'n1', 0, '2'], ['low-b', 'n2', 0, '2']],
      members: [{ spread: spreadZones }, { spread: spreadZones }],
      wantDeleted: ['default/low-a', 'default/low-b'], wantSpread: true,
    },
    {
      name: 'anti-affinity between members: earlier members of the plan count, each gets its own node',
      nodes: [['n1', '2'], ['n2', '2']],
      running: [['low-a', 'n1', 0, '2'], ['low-b', 'n2', 0, '2']],
      members: [{ affinity: antiSelf }, { affinity: antiSelf }],
      wantDeleted: ['default/low-a', 'default/low-b'], wantSpread: true,
    },
    {
      name: 'a PDB budget is spent across the plan: the second eviction goes to an uncovered pod of higher priority',
      nodes: [['n1', '2'], ['n2', '2'], ['n3', '2']],
      running: [['db-a', 'n1', 0, '2', { app: 'db' }], ['db-b', 'n2', 0, '2', { app: 'db' }], ['free', 'n3', 5, '2']],
      pdbs: [pdb({ app: 'db' }, 1)],
      members: [{ cpu: '2' }, { cpu: '2' }],
      wantDeleted: ['default/db-a', 'default/free'],
    },
    {
      name: 'victims not covered by a violated PDB are preferred over lower priorities',
      nodes: [['n1', '2'], ['n2', '2']],
      running: [['db', 'n1', 0, '2', { app: 'db' }], ['free', 'n2', 5, '2']],
      pdbs: [pdb({ app: 'db' }, 0)],
      members: [{ cpu: '1' }, { cpu: '1' }],
      wantDeleted: ['default/free'],
    },
    {
      name: 'quorum cannot fit: the last member selects a node that does not exist, nobody is evicted',
      nodes: [['n1', '2'], ['n2', '2']],
      running: [['low-a', 'n1', 0, '2'], ['low-b', 'n2', 0, '2']],
      members: [{}, {}, { nodeSelector: { gpu: 'true' } }],
      wantDeleted: [],
      wantMessage: /member hi3: 0\/2 nodes are available: 2 node\(s\) didn't match Pod's node affinity\/selector/,
    },
  ];
  for (const c of cases) {
    const h = harness([group('hi', c.members.length)], c.pdbs);
    const nominated = new Map<string, string>();
    const orig = h.cluster.updatePodStatus.bind(h.cluster);
    (h.cluster as { updatePodStatus: ClusterApi['updatePodStatus'] }).updatePodStatus = async (pod, cond, nnn) => {
      if (nnn) nominated.set(pod.metadata!.name!, nnn);
      return orig(pod, cond);
    };
    for (const [n, cpu, labels] of c.nodes) h.s.onNodeAdd(makeNode(n, { cpu, labels }));
    const running = c.running.map(([name, node, priority, cpu, labels]) => makePod(name, { nodeName: node, priority, requests: { cpu }, labels }));
    for (const p of running) h.s.onPodAdd(p);
    const members = c.members.map((m, i) => {
      const p = makePod(`hi${i + 1}`, { labels: { [POD_GROUP_LABEL]: 'hi' }, priority: 100, requests: { cpu: m.cpu ?? '1' }, affinity: m.affinity, nodeSelector: m.nodeSelector });
      if (m.spread) p.spec!.topologySpreadConstraints = m.spread;
      return p;
    });
    for (const m of members) h.add(m);
    await h.drain();
    await h.s.idle();
    assert.deepEqual([...h.cluster.deleted].sort(), c.wantDeleted, c.name);
    assert.equal(h.cluster.bindings.size, 0, c.name);
    if (c.wantMessage) {
      const msgs = members.map((m) => h.cluster.conditions.get(`default/${m.metadata!.name}`)?.message ?? '');
      assert.ok(msgs.some((m) => c.wantMessage!.test(m)), `${c.name}: ${msgs.join(' | ')}`);
    }
    if (!c.wantDeleted.length) continue;
    // Every member is nominated to its planned node; once the victims are gone the whole group binds there.
    assert.equal(nominated.size, c.members.length, `${c.name}: ${[...nominated]}`);
    for (const v of running.filter((p) => h.cluster.deleted.includes(`default/${p.metadata!.name}`))) h.s.onPodDelete(v);
    h.clock.advance(30_000);
    h.s.queue.flushBackoffQCompleted();
    await h.drain();
    await h.s.idle();
    assert.equal(boundTo(h.cluster, 'hi'), c.members.length, `${c.name}: the group binds`);
    assert.deepEqual([...h.cluster.deleted].sort(), c.wantDeleted, `${c.name}: no further evictions`);
    for (const m of members) assert.equal(h.cluster.bindings.get(`default/${m.metadata!.name}`), nominated.get(m.metadata!.name!), `${c.name}: ${m.metadata!.name} lands on its nominated node`);
    if (c.wantSpread) assert.notEqual(h.cluster.bindings.get('default/hi1'), h.cluster.bindings.get('default/hi2'), c.name);
  }
});
