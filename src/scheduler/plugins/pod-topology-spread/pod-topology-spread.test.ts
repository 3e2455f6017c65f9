import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node, Pod, Taint, TopologySpreadConstraint } from 'kubernetes-types/core/v1.js';
import { Code, CycleState, type FastFilter, type NodeScore, type SnapshotLister, type Status } from '../../framework/interface.js';
import { NodeInfo, PodInfo } from '../../framework/node-info.js';
import { makeNode, makePod, seededRng } from '../../testing.js';
import { SchedulerCache, Snapshot } from '../../cache/cache.js';
import { FakeClock } from '../../../client/testing/fake-clock.js';
import { newPodTopologySpread, REASON_CONSTRAINTS_NOT_MATCH, REASON_NODE_LABEL_NOT_MATCH, type PodTopologySpreadArgs } from './index.js';

// ---- tiny builders -------------------------------------------------------------------------------------------------

const HOST = 'kubernetes.io/hostname';
const ZONE = 'zone';
const NO_SCHEDULE: Taint = { key: 'dedicated', value: 'x', effect: 'NoSchedule' };

/** n1, n2 in zone z1 with disk=ssd; n3, n4 in zone z2 (tainted when `tainted`); n5 without a zone when `withBare`. */
function makeNodes(o: { tainted?: boolean; withBare?: boolean; zoneKey?: string } = {}): Node[] {
  const z = o.zoneKey ?? ZONE;
  return [
    makeNode('n1', { labels: { [z]: 'z1', disk: 'ssd' } }),
    makeNode('n2', { labels: { [z]: 'z1', disk: 'ssd' } }),
    makeNode('n3', { labels: { [z]: 'z2' }, taints: o.tainted ? [NO_SCHEDULE] : undefined }),
    makeNode('n4', { labels: { [z]: 'z2' }, taints: o.tainted ? [NO_SCHEDULE] : undefined }),
    ...(o.withBare ? [makeNode('n5')] : []),
  ];
}

const spread = (topologyKey: string, maxSkew: number, extra: Partial<TopologySpreadConstraint> = {}): TopologySpreadConstraint =>
  ({ topologyKey, maxSkew, whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web' } }, ...extra });
const soft = (topologyKey: string, maxSkew: number, extra: Partial<TopologySpreadConstraint> = {}) => spread(topologyKey, maxSkew, { whenUnsatisfiable: 'ScheduleAnyway', ...extra });

interface P { app?: string; ns?: string; labels?: Record<string, string>; constraints?: TopologySpreadConstraint[]; nodeSelector?: Record<string, string>; owner?: string; terminating?: boolean }
function pod(name: string, p: P = {}): Pod {
  const base = makePod(name, { namespace: p.ns, labels: { ...(p.app ? { app: p.app } : {}), ...(p.labels ?? {}) }, nodeSelector: p.nodeSelector });
  if (p.constraints) base.spec!.topologySpreadConstraints = p.constraints;
  if (p.owner) base.metadata!.ownerReferences = [{ apiVersion: 'apps/v1', kind: p.owner, name: 'o', uid: 'o', controller: true }];
  if (p.terminating) base.metadata = { ...base.metadata, deletionTimestamp: '2024-01-01T00:00:00Z' };
  return base;
}
/** `n` existing pods on `node`. */
const on = (node: string, n: number, p: P = { app: 'web' }) => Array.from({ length: n }, (_, i) => ({ node, pod: pod(`${node}-${i}`, p) }));

function cluster(nodes: Node[], existing: Array<{ node: string; pod: Pod }>): NodeInfo[] {
  return nodes.map((n) => {
    const ni = new NodeInfo(n);
    for (const e of existing) if (e.node === n.metadata!.name) ni.addPod(new PodInfo(e.pod));
    return ni;
  });
}

const snapshotOf = (nis: NodeInfo[]): SnapshotLister => ({
  list: () => nis, havePodsWithAffinityList: () => [], havePodsWithRequiredAntiAffinityList: () => [], get: (n) => nis.find((x) => x.name === n),
});

const U = `Unschedulable:${REASON_CONSTRAINTS_NOT_MATCH}`;
const LABEL = `UnschedulableAndUnresolvable:${REASON_NODE_LABEL_NOT_MATCH}`;
const ok = '';

function filterAll(pl: ReturnType<typeof newPodTopologySpread>, p: Pod, nis: NodeInfo[]): Record<string, string> | string {
  const state = new CycleState();
  const pre = pl.preFilter(state, p, nis).status;
  if (pre?.code === Code.Skip) return 'skip';
  if (pre) return `prefilter:${Code[pre.code]}`;
  return Object.fromEntries(nis.map((ni) => {
    const s = pl.filter(state, p, ni);
    return [ni.name, s ? `${Code[s.code]}:${s.message()}` : ''];
  }));
}

// ---- Filter ----------------------------------------------------------------------------------------------------------

test('Filter: maxSkew, minDomains, node inclusion policies, selectors as upstream', () => {
  const cases: Array<{ name: string; pod: Pod; nodes?: Node[]; existingPods?: Array<{ node: string; pod: Pod }>; wantStatus: Record<string, string> | string }> = [
    { name: 'no constraints: Skip', pod: pod('p', { app: 'web' }), existingPods: on('n1', 3), wantStatus: 'skip' },
    { name: 'only ScheduleAnyway constraints: Skip', pod: pod('p', { app: 'web', constraints: [soft(ZONE, 1)] }), wantStatus: 'skip' },
    {
      name: 'zone maxSkew 1: the fuller zone is rejected',
      pod: pod('p', { app: 'web', constraints: [spread(ZONE, 1)] }), existingPods: [...on('n1', 2), ...on('n3', 1)],
      wantStatus: { n1: U, n2: U, n3: ok, n4: ok },
    },
    {
      name: 'a pod that does not match its own selector does not count itself',
      pod: pod('p', { app: 'db', constraints: [spread(ZONE, 1)] }), existingPods: [...on('n1', 2), ...on('n3', 1)],
      wantStatus: { n1: ok, n2: ok, n3: ok, n4: ok },
    },
    {
      name: 'hostname maxSkew 1',
      pod: pod('p', { app: 'web', constraints: [spread(HOST, 1)] }), existingPods: [...on('n1', 1)],
      wantStatus: { n1: U, n2: ok, n3: ok, n4: ok },
    },
    {
      name: 'maxSkew 2 tolerates a difference of 2',
      pod: pod('p', { app: 'web', constraints: [spread(ZONE, 2)] }), existingPods: [...on('n1', 2), ...on('n3', 1)],
      wantStatus: { n1: ok, n2: ok, n3: ok, n4: ok },
    },
    {
      name: 'a node without the topology key is unresolvable',
      pod: pod('p', { app: 'web', constraints: [spread(ZONE, 1)] }), nodes: makeNodes({ withBare: true }),
      wantStatus: { n1: ok, n2: ok, n3: ok, n4: ok, n5: LABEL },
    },
    {
      name: 'two constraints: zone and hostname must both hold',
      pod: pod('p', { app: 'web', constraints: [spread(ZONE, 1), spread(HOST, 1)] }), existingPods: [...on('n1', 1), ...on('n3', 1)],
      wantStatus: { n1: U, n2: ok, n3: U, n4: ok },
    },
    {
      name: 'minDomains above the number of domains makes the global minimum 0',
      pod: pod('p', { app: 'web', constraints: [spread(ZONE, 1, { minDomains: 3 })] }), existingPods: [...on('n1', 1), ...on('n3', 1)],
      wantStatus: { n1: U, n2: U, n3: U, n4: U },
    },
    {
      name: 'minDomains met: ordinary skew',
      pod: pod('p', { app: 'web', constraints: [spread(ZONE, 1, { minDomains: 2 })] }), existingPods: [...on('n1', 1), ...on('n3', 1)],
      wantStatus: { n1: ok, n2: ok, n3: ok, n4: ok },
    },
    {
      name: 'nodeAffinityPolicy Honor (default): domains outside the node selector do not count',
      pod: pod('p', { app: 'web', nodeSelector: { disk: 'ssd' }, constraints: [spread(ZONE, 1)] }), existingPods: on('n1', 2),
      wantStatus: { n1: ok, n2: ok, n3: ok, n4: ok },
    },
    {
      name: 'nodeAffinityPolicy Ignore: the empty zone is the minimum',
      pod: pod('p', { app: 'web', nodeSelector: { disk: 'ssd' }, constraints: [spread(ZONE, 1, { nodeAffinityPolicy: 'Ignore' })] }), existingPods: on('n1', 2),
      wantStatus: { n1: U, n2: U, n3: ok, n4: ok },
    },
    {
      name: 'nodeTaintsPolicy Ignore (default): tainted nodes count as a domain',
      pod: pod('p', { app: 'web', constraints: [spread(ZONE, 1)] }), nodes: makeNodes({ tainted: true }), existingPods: on('n1', 2),
      wantStatus: { n1: U, n2: U, n3: ok, n4: ok },
    },
    {
      name: 'nodeTaintsPolicy Honor: untolerated tainted nodes are no domain',
      pod: pod('p', { app: 'web', constraints: [spread(ZONE, 1, { nodeTaintsPolicy: 'Honor' })] }), nodes: makeNodes({ tainted: true }), existingPods: on('n1', 2),
      wantStatus: { n1: ok, n2: ok, n3: ok, n4: ok },
    },
    {
      name: 'pods of other namespaces and terminating pods are not counted',
      pod: pod('p', { app: 'web', constraints: [spread(ZONE, 1)] }),
      existingPods: [...on('n1', 2, { app: 'web', ns: 'other' }), ...on('n2', 2, { app: 'web', terminating: true }), ...on('n3', 1)],
      wantStatus: { n1: ok, n2: ok, n3: U, n4: U },
    },
    {
      name: 'matchLabelKeys: only pods of the same revision count',
      pod: pod('p', { app: 'web', labels: { rev: 'b' }, constraints: [spread(ZONE, 1, { matchLabelKeys: ['rev'] })] }),
      existingPods: [...on('n1', 3, { app: 'web', labels: { rev: 'a' } }), ...on('n3', 1, { app: 'web', labels: { rev: 'b' } })],
      wantStatus: { n1: ok, n2: ok, n3: U, n4: U },
    },
    {
      name: 'no labelSelector matches no pod: every node passes',
      pod: pod('p', { app: 'web', constraints: [spread(ZONE, 1, { labelSelector: undefined })] }), existingPods: on('n1', 3),
      wantStatus: { n1: ok, n2: ok, n3: ok, n4: ok },
    },
  ];
  for (const c of cases) {
    const nis = cluster(c.nodes ?? makeNodes(), c.existingPods ?? []);
    assert.deepEqual(filterAll(newPodTopologySpread(), c.pod, nis), c.wantStatus, c.name);
  }
});

test('PreFilterExtensions: preemption what-ifs update counts and the minimum; clones are independent', () => {
  const nis = cluster(makeNodes(), [...on('n1', 2), ...on('n3', 1)]);
  const pl = newPodTopologySpread();
  const p = pod('p', { app: 'web', constraints: [spread(ZONE, 1)] });
  const state = new CycleState();
  assert.equal(pl.preFilter(state, p, nis).status, null);
  assert.equal(pl.filter(state, p, nis[0]!)?.message(), REASON_CONSTRAINTS_NOT_MATCH);
  const what = state.clone();
  const ext = pl.preFilterExtensions();
  ext.removePod(what, p, nis[0]!.pods[0]!, nis[0]!);
  assert.equal(pl.filter(what, p, nis[0]!), null, 'one victim removed from z1');
  assert.equal(pl.filter(state, p, nis[0]!)?.message(), REASON_CONSTRAINTS_NOT_MATCH, 'original untouched');
  ext.removePod(what, p, nis[2]!.pods[0]!, nis[2]!);
  assert.equal(pl.filter(what, p, nis[0]!)?.message(), REASON_CONSTRAINTS_NOT_MATCH, 'z2 emptied: minimum dropped to 0');
  ext.addPod(what, p, new PodInfo(pod('x', { app: 'web', ns: 'other' })), nis[2]!);
  assert.equal(pl.filter(what, p, nis[0]!)?.message(), REASON_CONSTRAINTS_NOT_MATCH, 'pods of other namespaces are ignored');
  ext.addPod(what, p, new PodInfo(pod('y', { app: 'web' })), nis[2]!);
  assert.equal(pl.filter(what, p, nis[0]!), null, 'z2 back to 1');
});

test('counts stay right across cycles as the snapshot changes (incremental counters)', () => {
  const pl = newPodTopologySpread();
  const p = pod('p', { app: 'web', constraints: [spread(ZONE, 1)] });
  let nis = cluster(makeNodes(), [...on('n1', 1)]);
  assert.deepEqual(filterAll(pl, p, nis), { n1: U, n2: U, n3: ok, n4: ok });
  // A pod lands on n3: the cache replaces n3's NodeInfo with a clone holding it.
  const n3 = nis[2]!.clone();
  n3.addPod(new PodInfo(pod('landed', { app: 'web' })));
  nis = [nis[0]!, nis[1]!, n3, nis[3]!];
  assert.deepEqual(filterAll(pl, p, nis), { n1: ok, n2: ok, n3: ok, n4: ok });
  // n1 (with its pod) goes away and the list is re-ordered.
  nis = [nis[3]!, nis[2]!, nis[1]!];
  assert.deepEqual(filterAll(pl, p, nis), { n4: U, n3: U, n2: ok });
  // Zone z1 disappears entirely: only z2 is left, its own minimum.
  nis = [nis[0]!, nis[1]!];
  assert.deepEqual(filterAll(pl, p, nis), { n4: ok, n3: ok });
  // A fresh counter over the same snapshot agrees.
  assert.deepEqual(filterAll(newPodTopologySpread(), p, nis), { n4: ok, n3: ok });
});

test('incremental counters agree with a fresh count over random snapshot changes', () => {
  const rng = seededRng(7);
  const rnd = (n: number) => Math.floor(rng() * n);
  const outcomes = new Set<string>();
  const cached = newPodTopologySpread();
  const p = pod('p', { app: 'web', constraints: [spread(ZONE, 1), spread(HOST, 2)] });
  const nodes = Array.from({ length: 12 }, (_, i) => makeNode(`n${i}`, { labels: { [ZONE]: `z${i % 3}` } }));
  let nis = cluster(nodes, []);
  for (let step = 0; step < 300; step++) {
    const i = rnd(nis.length);
    const next = nis[i]!.clone();
    if (next.pods.length && rnd(3) === 0) next.removePod(next.pods[0]!.uid);
    else next.addPod(new PodInfo(pod(`s${step}`, { app: rnd(4) ? 'web' : 'db' })));
    nis = nis.slice();
    nis[i] = next;
    if (rnd(10) === 0) nis.reverse();
    const view = rnd(15) === 0 ? nis.slice(0, 9) : nis;
    const got = filterAll(cached, p, view);
    assert.deepEqual(got, filterAll(newPodTopologySpread(), p, view), `step ${step}`);
    outcomes.add(JSON.stringify(got));
  }
  assert.ok(outcomes.size > 10, `the walk should visit many different outcomes, got ${outcomes.size}`);
});

test('counters fed by the snapshot change journal agree with a fresh count (cache + Snapshot, nodes come and go)', () => {
  const rng = seededRng(11);
  const rnd = (n: number) => Math.floor(rng() * n);
  const cache = new SchedulerCache(new FakeClock());
  const snap = new Snapshot();
  const cached = newPodTopologySpread({}, { snapshot: () => snap });
  const p = pod('p', { app: 'web', constraints: [spread(ZONE, 1), spread(HOST, 2)] });
  for (let i = 0; i < 10; i++) cache.addNode(makeNode(`n${i}`, { labels: { [ZONE]: `z${i % 3}`, [HOST]: `n${i}` } }));
  const placed: Pod[] = [];
  let fastDecided = 0;
  for (let step = 0; step < 300; step++) {
    const r = rnd(20);
    if (r === 0) cache.addNode(makeNode(`x${step}`, { labels: { [ZONE]: `z${rnd(4)}`, [HOST]: `x${step}` } }));
    else if (r === 1 && snap.list().length > 3) cache.removeNode(snap.list()[rnd(snap.list().length)]!.node!);
    else if (r < 6 && placed.length) cache.removePod(placed.splice(rnd(placed.length), 1)[0]!);
    else {
      const nodes = snap.list().length ? snap.list() : [];
      if (nodes.length) {
        const q = pod(`s${step}`, { app: rnd(4) ? 'web' : 'db' });
        q.spec!.nodeName = nodes[rnd(nodes.length)]!.name;
        cache.addPod(q);
        placed.push(q);
      }
    }
    cache.updateSnapshot(snap);
    const view = snap.list() as NodeInfo[];
    assert.deepEqual(filterAll(cached, p, view), filterAll(newPodTopologySpread(), p, view), `step ${step}`);
    // The fast path (domain indexes, per-domain verdicts) agrees with filter wherever it decides.
    const state = new CycleState();
    assert.equal(cached.preFilter(state, p, view).status, null);
    const fast: FastFilter | undefined = cached.filterFast(state);
    assert.ok(fast, `step ${step}: fast path`);
    for (let i = 0; i < view.length; i++) {
      const want = cached.filter(state, p, view[i]!);
      const got: boolean | Status = fast(snap.table, i);
      if (got === false) continue;
      assert.equal(got === true ? '' : `${Code[got.code]}:${got.message()}`, want ? `${Code[want.code]}:${want.message()}` : '', `step ${step} node ${view[i]!.name}`);
      fastDecided++;
    }
  }
  assert.ok(fastDecided > 1000, `fast path decided ${fastDecided} nodes`);
});

// ---- Score -----------------------------------------------------------------------------------------------------------

function runScore(p: Pod, nis: NodeInfo[], feasible = nis, args?: PodTopologySpreadArgs): { raw: number[]; normalized: number[] } | 'skip' {
  const pl = newPodTopologySpread(args, { snapshot: () => snapshotOf(nis) });
  const state = new CycleState();
  const pre = pl.preScore(state, p, feasible);
  if (pre?.code === Code.Skip) return 'skip';
  assert.equal(pre, null);
  const scores: NodeScore[] = feasible.map((ni) => ({ name: ni.name, score: pl.score(state, p, ni) }));
  const raw = scores.map((s) => s.score);
  pl.normalizeScore(state, p, scores);
  return { raw, normalized: scores.map((s) => s.score) };
}

test('Score: ScheduleAnyway constraints and the system default constraints as upstream', () => {
  const cases: Array<{ name: string; pod: Pod; nodes?: Node[]; existingPods?: Array<{ node: string; pod: Pod }>; feasible?: string[]; args?: PodTopologySpreadArgs; wantScores: { raw: number[]; normalized: number[] } | 'skip' }> = [
    { name: 'no constraints, no owner: Skip', pod: pod('p', { app: 'web' }), existingPods: on('n1', 2), wantScores: 'skip' },
    { name: 'only DoNotSchedule constraints: Skip', pod: pod('p', { app: 'web', constraints: [spread(ZONE, 1)] }), wantScores: 'skip' },
    {
      // weight ln(2 + 2); z1: 2·1.386 = 2.77 → 3, z2: 1.386 → 1; normalized 100·(3 + 1 − s)/3.
      name: 'zone constraint: fewer matching pods score higher',
      pod: pod('p', { app: 'web', constraints: [soft(ZONE, 1)] }), existingPods: [...on('n1', 2), ...on('n3', 1)],
      wantScores: { raw: [3, 3, 1, 1], normalized: [33, 33, 100, 100] },
    },
    {
      // weight ln(4 + 2) = 1.79; counts 2, 0, 1, 0.
      name: 'hostname constraint counts per node',
      pod: pod('p', { app: 'web', constraints: [soft(HOST, 1)] }), existingPods: [...on('n1', 2), ...on('n3', 1)],
      wantScores: { raw: [4, 0, 2, 0], normalized: [0, 100, 50, 100] },
    },
    {
      name: 'maxSkew adds maxSkew − 1 to every node',
      pod: pod('p', { app: 'web', constraints: [soft(HOST, 3)] }), existingPods: on('n1', 1),
      wantScores: { raw: [4, 2, 2, 2], normalized: [50, 100, 100, 100] },
    },
    {
      name: 'counts include pods on nodes that are not feasible',
      pod: pod('p', { app: 'web', constraints: [soft(ZONE, 1)] }), existingPods: [...on('n2', 2)], feasible: ['n1', 'n3'],
      wantScores: { raw: [3, 0], normalized: [0, 100] },
    },
    {
      name: 'a node without the key is ignored and scores 0',
      pod: pod('p', { app: 'web', constraints: [soft(ZONE, 1)] }), nodes: makeNodes({ withBare: true }), existingPods: on('n1', 1),
      wantScores: { raw: [1, 1, 0, 0, 0], normalized: [0, 0, 100, 100, 0] },
    },
    {
      name: 'no matching pods anywhere: all equal',
      pod: pod('p', { app: 'web', constraints: [soft(ZONE, 1)] }),
      wantScores: { raw: [0, 0, 0, 0], normalized: [100, 100, 100, 100] },
    },
    {
      // hostname maxSkew 3 (weight ln(5 + 2)) + zone maxSkew 5 (domains z1, z2 and n5's "", weight ln(3 + 2)); n5 has
      // no zone but is not ignored: default constraints do not require every key.
      name: 'system defaults for a ReplicaSet pod: hostname and zone spreading by its labels',
      // n1: 2·ln7 + 2 + 2·ln5 + 4 = 13.1; n2: 2 + 7.2; n3, n4: 2 + 4; n5: hostname only, 2.
      pod: pod('p', { app: 'web', owner: 'ReplicaSet' }), nodes: makeNodes({ withBare: true, zoneKey: 'topology.kubernetes.io/zone' }),
      existingPods: [...on('n1', 2, { app: 'web', owner: 'ReplicaSet' }), ...on('n3', 1, { app: 'other' })],
      wantScores: { raw: [13, 9, 6, 6, 2], normalized: [15, 46, 69, 69, 100] },
    },
    {
      name: 'system defaults drop per-replica labels of StatefulSet pods',
      pod: pod('p', { app: 'db', owner: 'StatefulSet', labels: { 'statefulset.kubernetes.io/pod-name': 'db-3' } }),
      existingPods: [{ node: 'n2', pod: pod('db-0', { app: 'db', labels: { 'statefulset.kubernetes.io/pod-name': 'db-0' } }) }],
      wantScores: { raw: [2, 4, 2, 2], normalized: [100, 50, 100, 100] },
    },
    {
      name: 'defaultingType List with no constraints: no defaults',
      pod: pod('p', { app: 'web', owner: 'ReplicaSet' }), args: { defaultingType: 'List' }, wantScores: 'skip',
    },
  ];
  for (const c of cases) {
    const nis = cluster(c.nodes ?? makeNodes(), c.existingPods ?? []);
    const feasible = c.feasible ? nis.filter((n) => c.feasible!.includes(n.name)) : nis;
    assert.deepEqual(runScore(c.pod, nis, feasible, c.args), c.wantScores, c.name);
  }
});

// ---- queueing hints ----------------------------------------------------------------------------------------------------

test('queueing hints: pods counted by a constraint and nodes with the topology keys requeue', () => {
  const [podEvents, nodeEvents] = newPodTopologySpread().eventsToRegister();
  const waiting = pod('p', { app: 'web', constraints: [spread(ZONE, 1)] });
  const cases: Array<{ name: string; hint: typeof podEvents; old?: unknown; new?: unknown; want: string }> = [
    { name: 'matching pod deleted', hint: podEvents, old: pod('e', { app: 'web' }), want: 'Queue' },
    { name: 'matching pod added', hint: podEvents, new: pod('e', { app: 'web' }), want: 'Queue' },
    { name: 'pod relabelled out of the selector', hint: podEvents, old: pod('e', { app: 'web' }), new: pod('e', { app: 'x' }), want: 'Queue' },
    { name: 'unrelated pod', hint: podEvents, new: pod('e', { app: 'x' }), want: 'QueueSkip' },
    { name: 'matching pod of another namespace', hint: podEvents, new: pod('e', { app: 'web', ns: 'other' }), want: 'QueueSkip' },
    { name: 'node with the zone added', hint: nodeEvents, new: makeNode('n', { labels: { [ZONE]: 'z9' } }), want: 'Queue' },
    { name: 'node without the zone added', hint: nodeEvents, new: makeNode('n'), want: 'QueueSkip' },
    { name: 'node losing its zone label', hint: nodeEvents, old: makeNode('n', { labels: { [ZONE]: 'z1' } }), new: makeNode('n'), want: 'Queue' },
  ];
  for (const c of cases) assert.equal(c.hint!.hint!(waiting, c.old, c.new), c.want, c.name);
});
