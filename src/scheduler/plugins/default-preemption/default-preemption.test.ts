import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import { FakeClock } from '../../../client/testing/fake-clock.js';
import { defaultProfile } from '../registry.js';
import { Scheduler } from '../../scheduler.js';
import { FakeCluster, makeNode, makePod, seededRng } from '../../testing.js';
import { filterPodsWithPDBViolation, pickOneNodeForPreemption, spendPDBs, type Candidate } from './default-preemption.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

function harness(pdbs: PodDisruptionBudget[] = []) {
  const clock = new FakeClock();
  const cluster = new FakeCluster();
  const profile = defaultProfile({ plugins: [{ name: 'DefaultPreemption', args: { listPDBs: () => pdbs, rng: () => 0 } }] });
  const s = new Scheduler({ cluster, clock, rng: seededRng(3), profile, logger: quiet });
  cluster.scheduler = s;
  const drain = async () => {
    for (let q = s.queue.tryPop(); q; q = s.queue.tryPop()) await s.scheduleOne(q);
    await s.idle();
  };
  return { clock, cluster, s, drain };
}

/** A bound pod with priority, cpu request, labels and a start time (seconds after epoch 2024). */
function running(name: string, node: string, priority: number, cpu: string, o: { labels?: Record<string, string>; start?: number } = {}): Pod {
  const p = makePod(name, { nodeName: node, priority, requests: { cpu }, labels: o.labels });
  return { ...p, status: { phase: 'Running', startTime: new Date(Date.UTC(2024, 0, 1) + (o.start ?? 0) * 1000).toISOString() } };
}

const pdb = (name: string, labels: Record<string, string>, allowed: number): PodDisruptionBudget => ({
  metadata: { name, namespace: 'default' }, spec: { selector: { matchLabels: labels } }, status: { disruptionsAllowed: allowed, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 },
});

test('victim selection and node choice follow upstream', async () => {
  const cases: Array<{ name: string; nodes: string[]; pods: Pod[]; preemptor: Pod; pdbs?: PodDisruptionBudget[]; wantNode?: string; wantVictims: string[]; wantMessage?: string }> = [
    {
      name: 'lowest priority victims win over fewer victims',
      nodes: ['n1', 'n2'],
      pods: [running('mid', 'n1', 50, '4'), running('low-a', 'n2', 10, '2'), running('low-b', 'n2', 10, '2')],
      preemptor: makePod('p', { priority: 100, requests: { cpu: '3' } }),
      wantNode: 'n2', wantVictims: ['default/low-a', 'default/low-b'],
    },
    {
      name: 'minimal set: only what is needed is evicted, the most important lower pods are reprieved',
      nodes: ['n1'],
      pods: [running('a', 'n1', 30, '1'), running('b', 'n1', 20, '1'), running('c', 'n1', 10, '1'), running('d', 'n1', 10, '1', { start: 5 })],
      preemptor: makePod('p', { priority: 100, requests: { cpu: '2' } }),
      // c started before d, so d is less important and goes first; a and b stay.
      wantNode: 'n1', wantVictims: ['default/c', 'default/d'],
    },
    {
      name: 'fewest PDB violations first',
      nodes: ['n1', 'n2'],
      pods: [running('guarded', 'n1', 1, '4', { labels: { app: 'db' } }), running('free', 'n2', 5, '4')],
      pdbs: [pdb('db', { app: 'db' }, 0)],
      preemptor: makePod('p', { priority: 100, requests: { cpu: '4' } }),
      wantNode: 'n2', wantVictims: ['default/free'],
    },
    {
      name: 'equal or higher priority pods are never victims',
      nodes: ['n1'],
      pods: [running('peer', 'n1', 100, '4')],
      preemptor: makePod('p', { priority: 100, requests: { cpu: '1' } }),
      wantVictims: [],
      wantMessage: '0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.',
    },
    {
      name: 'unresolvable nodes are not helpful; removing every lower pod not enough keeps the filter reason',
      nodes: ['n1', 'n2', 'small'],
      pods: [running('peer', 'n1', 200, '3'), running('low', 'n1', 1, '1'), running('x', 'n2', 300, '4')],
      preemptor: makePod('p', { priority: 100, requests: { cpu: '5' } }),
      wantVictims: [],
      wantMessage: '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.',
    },
    {
      name: 'preemptionPolicy Never does not preempt',
      nodes: ['n1'],
      pods: [running('low', 'n1', 1, '4')],
      preemptor: { ...makePod('p', { priority: 100, requests: { cpu: '1' } }), spec: { ...makePod('x').spec!, priority: 100, preemptionPolicy: 'Never', containers: [{ name: 'c', image: 'i', resources: { requests: { cpu: '1' } } }] } },
      wantVictims: [],
      wantMessage: '0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never..',
    },
  ];
  for (const c of cases) {
    const h = harness(c.pdbs);
    for (const n of c.nodes) h.s.onNodeAdd(makeNode(n, { cpu: n === 'small' ? '1' : '4' }));
    for (const p of c.pods) h.s.onPodAdd(p);
    h.s.onPodAdd(c.preemptor);
    await h.drain();
    assert.deepEqual([...h.cluster.deleted].sort(), c.wantVictims, c.name);
    const key = `default/${c.preemptor.metadata!.name}`;
    if (c.wantNode) {
      assert.equal(h.s.nominator.nominatedNode(c.preemptor), c.wantNode, c.name);
      const ev = h.cluster.events.filter((e) => e.reason === 'Preempted');
      assert.equal(ev.length, c.wantVictims.length, c.name);
      assert.match(ev[0]!.message, new RegExp(`^Preempted by pod ${c.preemptor.metadata!.uid} on node ${c.wantNode}$`), c.name);
    }
    if (c.wantMessage) assert.equal(h.cluster.conditions.get(key)?.message, c.wantMessage, c.name);
  }
});

test('the preemptor binds to its nominated node once the victims are gone; lower pods cannot take the room', async () => {
  const h = harness();
  h.s.onNodeAdd(makeNode('n1', { cpu: '4' }));
  const victim = running('victim', 'n1', 1, '4');
  h.s.onPodAdd(victim);
  const p = makePod('p', { priority: 100, requests: { cpu: '4' } });
  h.s.onPodAdd(p);
  await h.drain();
  assert.deepEqual(h.cluster.deleted, ['default/victim']);
  assert.equal(h.s.nominator.nominatedNode(p), 'n1');
  // A lower-priority pod arrives before the preemptor retries: the nominated room is kept for the preemptor.
  h.s.onPodDelete(victim); // the kubelet finished the victim
  const sneaky = makePod('sneaky', { priority: 50, requests: { cpu: '1' } });
  h.s.onPodAdd(sneaky);
  await h.drain(); // the preemptor is still backing off: sneaky is tried first
  assert.equal(h.cluster.bindings.get('default/sneaky'), undefined, 'the nominated room is kept');
  assert.match(h.cluster.conditions.get('default/sneaky')!.message!, /Insufficient cpu/);
  h.clock.advance(20_000);
  h.s.queue.flushBackoffQCompleted();
  await h.drain();
  assert.equal(h.cluster.bindings.get('default/p'), 'n1');
});

test('pickOneNodeForPreemption criteria in upstream order', () => {
  const v = (name: string, priority: number, start = 0) => running(name, 'x', priority, '1', { start });
  const cases: Array<{ name: string; candidates: Candidate[]; want: string }> = [
    { name: 'no victims wins', candidates: [{ name: 'a', victims: [v('1', 1)], numPDBViolations: 0 }, { name: 'b', victims: [], numPDBViolations: 0 }], want: 'b' },
    { name: 'fewest PDB violations', candidates: [{ name: 'a', victims: [v('1', 1)], numPDBViolations: 1 }, { name: 'b', victims: [v('2', 5), v('3', 5)], numPDBViolations: 0 }], want: 'b' },
    { name: 'lowest highest priority', candidates: [{ name: 'a', victims: [v('1', 9)], numPDBViolations: 0 }, { name: 'b', victims: [v('2', 5), v('3', 5)], numPDBViolations: 0 }], want: 'b' },
    { name: 'smallest priority sum', candidates: [{ name: 'a', victims: [v('1', 5), v('2', 4)], numPDBViolations: 0 }, { name: 'b', victims: [v('3', 5), v('4', 1)], numPDBViolations: 0 }], want: 'b' },
    { name: 'negative priorities sum lower', candidates: [{ name: 'a', victims: [v('1', 5)], numPDBViolations: 0 }, { name: 'b', victims: [v('3', 5), v('4', -3)], numPDBViolations: 0 }], want: 'a' },
    { name: 'fewest victims', candidates: [{ name: 'a', victims: [v('1', 5), v('2', 0), v('5', 0)], numPDBViolations: 0 }, { name: 'b', victims: [v('3', 5), v('4', 0)], numPDBViolations: 0 }], want: 'b' },
    { name: 'latest start of the highest priority victims', candidates: [{ name: 'a', victims: [v('1', 5, 10)], numPDBViolations: 0 }, { name: 'b', victims: [v('3', 5, 20)], numPDBViolations: 0 }], want: 'b' },
    { name: 'first on a full tie', candidates: [{ name: 'a', victims: [v('1', 5, 10)], numPDBViolations: 0 }, { name: 'b', victims: [v('3', 5, 10)], numPDBViolations: 0 }], want: 'a' },
  ];
  for (const c of cases) assert.equal(pickOneNodeForPreemption(c.candidates).name, c.want, c.name);
});

test('filterPodsWithPDBViolation spends disruptionsAllowed in order', () => {
  const p = (name: string, labels?: Record<string, string>) => running(name, 'x', 0, '1', { labels });
  const cases: Array<{ name: string; pods: Pod[]; pdbs: PodDisruptionBudget[]; wantViolating: string[] }> = [
    { name: 'no pdb', pods: [p('a', { app: 'x' })], pdbs: [], wantViolating: [] },
    { name: 'budget of one', pods: [p('a', { app: 'x' }), p('b', { app: 'x' })], pdbs: [pdb('x', { app: 'x' }, 1)], wantViolating: ['b'] },
    { name: 'selector does not match', pods: [p('a', { app: 'y' })], pdbs: [pdb('x', { app: 'x' }, 0)], wantViolating: [] },
    { name: 'other namespace', pods: [p('a', { app: 'x' })], pdbs: [{ ...pdb('x', { app: 'x' }, 0), metadata: { name: 'x', namespace: 'other' } }], wantViolating: [] },
    { name: 'already disrupted pods do not spend', pods: [p('a', { app: 'x' })], pdbs: [{ ...pdb('x', { app: 'x' }, 0), status: { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0, disruptedPods: { a: '2024-01-01T00:00:00Z' } } }], wantViolating: [] },
    { name: 'empty selector matches nothing', pods: [p('a', { app: 'x' })], pdbs: [{ ...pdb('x', {}, 0), spec: { selector: {} } }], wantViolating: [] },
  ];
  for (const c of cases) assert.deepEqual(filterPodsWithPDBViolation(c.pods, c.pdbs).violating.map((x) => x.metadata!.name), c.wantViolating, c.name);
});

test('spendPDBs lowers the budgets a plan has used (shared across nodes)', () => {
  const p = (name: string, labels?: Record<string, string>) => running(name, 'x', 0, '1', { labels });
  const budgets = [pdb('x', { app: 'x' }, 1), pdb('y', { app: 'y' }, 2)];
  const after = spendPDBs(budgets, [p('a', { app: 'x' }), p('b', { app: 'x' }), p('c')]);
  assert.deepEqual(after.map((b) => b.status!.disruptionsAllowed), [-1, 2]);
  assert.equal(after[1], budgets[1], 'untouched budgets are kept as is');
  assert.equal(budgets[0]!.status!.disruptionsAllowed, 1, 'the input is not changed');
  // The next search on another node sees the spent budget: one more x pod now violates.
  assert.deepEqual(filterPodsWithPDBViolation([p('d', { app: 'x' })], spendPDBs(budgets, [p('a', { app: 'x' })])).violating.map((v) => v.metadata!.name), ['d']);
});
