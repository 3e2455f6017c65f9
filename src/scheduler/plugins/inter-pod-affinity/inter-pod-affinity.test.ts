import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Affinity, Namespace, Pod, PodAffinityTerm } from 'kubernetes-types/core/v1.js';
import { matches, type LabelSelector } from '../../../api/labels.js';
import { Code, CycleState, type NodeScore, type SnapshotLister } from '../../framework/interface.js';
import { NodeInfo, PodInfo } from '../../framework/node-info.js';
import { makeNode, makePod, seededRng } from '../../testing.js';
import {
  newInterPodAffinity, REASON_AFFINITY_RULES_NOT_MATCH, REASON_ANTI_AFFINITY_RULES_NOT_MATCH,
  REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH, type InterPodAffinityArgs, type NamespaceLister,
} from './index.js';

// ---- tiny builders -------------------------------------------------------------------------------------------------

const HOST = 'kubernetes.io/hostname';
const ZONE = 'zone';

/** Nodes n1,n2 in zone a; n3 in zone b; n4 has no zone label. */
const NODES = [makeNode('n1', { labels: { [ZONE]: 'a' } }), makeNode('n2', { labels: { [ZONE]: 'a' } }), makeNode('n3', { labels: { [ZONE]: 'b' } }), makeNode('n4')];

/** A required term selecting `app=<app>` in the given topology. */
const term = (app: string, topologyKey = HOST, extra: Partial<PodAffinityTerm> = {}): PodAffinityTerm => ({ labelSelector: { matchLabels: { app } }, topologyKey, ...extra });
const affinity = (...terms: PodAffinityTerm[]): Affinity => ({ podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: terms } });
const anti = (...terms: PodAffinityTerm[]): Affinity => ({ podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: terms } });
const prefAffinity = (weight: number, t: PodAffinityTerm): Affinity => ({ podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight, podAffinityTerm: t }] } });
const prefAnti = (weight: number, t: PodAffinityTerm): Affinity => ({ podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight, podAffinityTerm: t }] } });

interface P { app?: string; ns?: string; affinity?: Affinity; labels?: Record<string, string> }
const pod = (name: string, p: P = {}): Pod => makePod(name, { namespace: p.ns, labels: { ...(p.app ? { app: p.app } : {}), ...(p.labels ?? {}) }, affinity: p.affinity });
/** An existing pod on a node. */
const on = (node: string, name: string, p: P = {}) => ({ node, pod: pod(name, p) });

const namespaceLister = (labels: Record<string, Record<string, string>>): NamespaceLister => {
  const all: Namespace[] = Object.entries(labels).map(([name, l]) => ({ metadata: { name, labels: l } }));
  return {
    get: (_ns, name) => all.find((n) => n.metadata?.name === name),
    list: (_ns, sel?: LabelSelector) => all.filter((n) => !sel || matches(sel, n.metadata?.labels)),
  };
};

function cluster(existing: Array<{ node: string; pod: Pod }>): NodeInfo[] {
  return NODES.map((n) => {
    const ni = new NodeInfo(n);
    for (const e of existing) if (e.node === n.metadata!.name) ni.addPod(new PodInfo(e.pod));
    return ni;
  });
}

const snapshotOf = (nis: NodeInfo[]): SnapshotLister => ({
  list: () => nis,
  havePodsWithAffinityList: () => nis.filter((n) => n.podsWithAffinity.length > 0),
  havePodsWithRequiredAntiAffinityList: () => nis.filter((n) => n.podsWithRequiredAntiAffinity.length > 0),
  get: (name) => nis.find((n) => n.name === name),
});

function plugin(nis: NodeInfo[], ns?: NamespaceLister, args: InterPodAffinityArgs = {}) {
  return newInterPodAffinity(args, { snapshot: () => snapshotOf(nis) }, ns);
}

/** Per node: '' when it fits, else `code:reason`; or `prefilter:code:reason`. */
function runFilter(p: Pod, nis: NodeInfo[], ns?: NamespaceLister): Record<string, string> | string {
  const pl = plugin(nis, ns);
  const state = new CycleState();
  const pre = pl.preFilter(state, p, nis).status;
  if (pre?.code === Code.Skip) return 'skip';
  if (pre) return `prefilter:${Code[pre.code]}:${pre.message()}`;
  return Object.fromEntries(nis.map((ni) => {
    const s = pl.filter(state, p, ni);
    return [ni.name, s ? `${Code[s.code]}:${s.message()}` : ''];
  }));
}

const U = (r: string) => `Unschedulable:${r}`;
const UR = (r: string) => `UnschedulableAndUnresolvable:${r}`;
const AFF = UR(REASON_AFFINITY_RULES_NOT_MATCH);
const ANTI = U(REASON_ANTI_AFFINITY_RULES_NOT_MATCH);
const EXISTING = U(REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH);
const ok = '';

// ---- Filter ----------------------------------------------------------------------------------------------------------

test('Filter: required affinity, anti-affinity and existing pods anti-affinity as upstream', () => {
  const cases: Array<{ name: string; pod: Pod; existingPods?: Array<{ node: string; pod: Pod }>; ns?: NamespaceLister; wantStatus: Record<string, string> | string }> = [
    { name: 'no terms anywhere: Skip', pod: pod('p'), existingPods: [on('n1', 'e', { app: 'db' })], wantStatus: 'skip' },
    {
      name: 'affinity by hostname: only the node with a matching pod',
      pod: pod('p', { affinity: affinity(term('db')) }), existingPods: [on('n1', 'e', { app: 'db' }), on('n3', 'x', { app: 'web' })],
      wantStatus: { n1: ok, n2: AFF, n3: AFF, n4: AFF },
    },
    {
      name: 'affinity by zone: every node of the zone; nodes without the key fail',
      pod: pod('p', { affinity: affinity(term('db', ZONE)) }), existingPods: [on('n1', 'e', { app: 'db' })],
      wantStatus: { n1: ok, n2: ok, n3: AFF, n4: AFF },
    },
    {
      name: 'first pod of a self-affine group may go anywhere with the topology key',
      pod: pod('p', { app: 'db', affinity: affinity(term('db', ZONE)) }), existingPods: [on('n1', 'x', { app: 'web' })],
      wantStatus: { n1: ok, n2: ok, n3: ok, n4: AFF },
    },
    {
      name: 'no match anywhere and not self-matching: nowhere',
      pod: pod('p', { app: 'web', affinity: affinity(term('db', ZONE)) }),
      wantStatus: { n1: AFF, n2: AFF, n3: AFF, n4: AFF },
    },
    {
      name: 'self-matching but matching pods exist: only their domain',
      pod: pod('p', { app: 'db', affinity: affinity(term('db', ZONE)) }), existingPods: [on('n3', 'e', { app: 'db' })],
      wantStatus: { n1: AFF, n2: AFF, n3: ok, n4: AFF },
    },
    {
      name: 'several affinity terms: one existing pod must match all of them',
      pod: pod('p', { affinity: affinity(term('db', ZONE), { labelSelector: { matchLabels: { tier: 'gold' } }, topologyKey: ZONE }) }),
      existingPods: [on('n1', 'e1', { app: 'db' }), on('n3', 'e2', { app: 'db', labels: { tier: 'gold' } })],
      wantStatus: { n1: AFF, n2: AFF, n3: ok, n4: AFF },
    },
    {
      name: 'affinity looks in the pod\'s own namespace by default',
      pod: pod('p', { affinity: affinity(term('db')) }), existingPods: [on('n1', 'e', { app: 'db', ns: 'other' })],
      wantStatus: { n1: AFF, n2: AFF, n3: AFF, n4: AFF },
    },
    {
      name: 'affinity with namespaces lists other namespaces',
      pod: pod('p', { affinity: affinity(term('db', HOST, { namespaces: ['other'] })) }), existingPods: [on('n1', 'e', { app: 'db', ns: 'other' }), on('n2', 'f', { app: 'db' })],
      wantStatus: { n1: ok, n2: AFF, n3: AFF, n4: AFF },
    },
    {
      name: 'affinity namespaceSelector resolved through the namespace lister',
      pod: pod('p', { affinity: affinity(term('db', HOST, { namespaceSelector: { matchLabels: { team: 'x' } } })) }),
      existingPods: [on('n1', 'e', { app: 'db', ns: 'tx' }), on('n2', 'f', { app: 'db', ns: 'ty' })],
      ns: namespaceLister({ tx: { team: 'x' }, ty: { team: 'y' }, default: {} }),
      wantStatus: { n1: ok, n2: AFF, n3: AFF, n4: AFF },
    },
    {
      name: 'an empty namespaceSelector selects every namespace',
      pod: pod('p', { affinity: affinity(term('db', HOST, { namespaceSelector: {} })) }),
      existingPods: [on('n1', 'e', { app: 'db', ns: 'tx' }), on('n2', 'f', { app: 'db', ns: 'ty' })],
      wantStatus: { n1: ok, n2: ok, n3: AFF, n4: AFF },
    },
    {
      name: 'anti-affinity by hostname',
      pod: pod('p', { affinity: anti(term('db')) }), existingPods: [on('n1', 'e', { app: 'db' })],
      wantStatus: { n1: ANTI, n2: ok, n3: ok, n4: ok },
    },
    {
      name: 'anti-affinity by zone; a node without the key is fine',
      pod: pod('p', { affinity: anti(term('db', ZONE)) }), existingPods: [on('n1', 'e', { app: 'db' })],
      wantStatus: { n1: ANTI, n2: ANTI, n3: ok, n4: ok },
    },
    {
      name: 'anti-affinity ignores pods of other namespaces',
      pod: pod('p', { affinity: anti(term('db', ZONE)) }), existingPods: [on('n1', 'e', { app: 'db', ns: 'other' })],
      wantStatus: { n1: ok, n2: ok, n3: ok, n4: ok },
    },
    {
      name: 'anti-affinity to itself: spreads the group one per node (the anti-affinity benchmark shape)',
      pod: pod('p', { app: 'web', affinity: anti(term('web')) }),
      existingPods: [on('n1', 'e1', { app: 'web', affinity: anti(term('web')) }), on('n3', 'e2', { app: 'web', affinity: anti(term('web')) })],
      wantStatus: { n1: ANTI, n2: ok, n3: ANTI, n4: ok },
    },
    {
      name: 'existing pod anti-affinity selecting the incoming pod blocks its domain',
      pod: pod('p', { app: 'web' }), existingPods: [on('n1', 'e', { app: 'db', affinity: anti(term('web', ZONE)) })],
      wantStatus: { n1: EXISTING, n2: EXISTING, n3: ok, n4: ok },
    },
    {
      name: 'existing pod anti-affinity in another namespace does not select the pod',
      pod: pod('p', { app: 'web' }), existingPods: [on('n1', 'e', { app: 'db', ns: 'other', affinity: anti(term('web', ZONE)) })],
      wantStatus: 'skip',
    },
    {
      name: 'existing pod anti-affinity with namespaceSelector matches the incoming namespace labels',
      pod: pod('p', { app: 'web', ns: 'prod' }),
      existingPods: [on('n3', 'e', { app: 'db', ns: 'other', affinity: anti(term('web', HOST, { namespaceSelector: { matchLabels: { env: 'prod' } } })) })],
      ns: namespaceLister({ prod: { env: 'prod' }, other: {} }),
      wantStatus: { n1: ok, n2: ok, n3: EXISTING, n4: ok },
    },
    {
      name: 'affinity is checked before anti-affinity',
      pod: pod('p', { affinity: { ...affinity(term('db')), ...anti(term('db')) } }), existingPods: [on('n1', 'e', { app: 'db' })],
      wantStatus: { n1: ANTI, n2: AFF, n3: AFF, n4: AFF },
    },
    {
      name: 'anti-affinity with matchLabelKeys: only pods of the same version count',
      pod: pod('p', { app: 'web', labels: { version: 'v2' }, affinity: anti(term('web', HOST, { matchLabelKeys: ['version'] })) }),
      existingPods: [on('n1', 'e1', { app: 'web', labels: { version: 'v1' } }), on('n2', 'e2', { app: 'web', labels: { version: 'v2' } })],
      wantStatus: { n1: ok, n2: ANTI, n3: ok, n4: ok },
    },
    {
      name: 'anti-affinity with mismatchLabelKeys: only pods of other tenants count',
      pod: pod('p', { labels: { tenant: 't1' }, affinity: anti({ labelSelector: {}, topologyKey: HOST, mismatchLabelKeys: ['tenant'] }) }),
      existingPods: [on('n1', 'e1', { labels: { tenant: 't1' } }), on('n2', 'e2', { labels: { tenant: 't2' } })],
      wantStatus: { n1: ok, n2: ANTI, n3: ok, n4: ok },
    },
    {
      name: 'an invalid selector rejects the pod in PreFilter',
      pod: pod('p', { affinity: affinity({ labelSelector: { matchExpressions: [{ key: 'app', operator: 'Near', values: ['x'] }] }, topologyKey: HOST }) }),
      wantStatus: 'prefilter:UnschedulableAndUnresolvable:parsing pod: "Near" is not a valid label selector operator',
    },
  ];
  for (const c of cases) assert.deepEqual(runFilter(c.pod, cluster(c.existingPods ?? []), c.ns), c.wantStatus, c.name);
});

test('PreFilterExtensions: adding and removing pods updates the counts; clones are independent', () => {
  const victim = pod('victim', { app: 'db' });
  const guard = pod('guard', { app: 'x', affinity: anti(term('web')) });
  const nis = cluster([{ node: 'n1', pod: victim }]);
  const incoming = pod('p', { app: 'web', affinity: anti(term('db')) });
  const pl = plugin(nis);
  const state = new CycleState();
  assert.equal(pl.preFilter(state, incoming, nis).status, null);
  const n1 = nis[0]!;
  const n2 = nis[1]!;
  assert.equal(pl.filter(state, incoming, n1)?.message(), REASON_ANTI_AFFINITY_RULES_NOT_MATCH);

  const what = state.clone();
  pl.preFilterExtensions().removePod(what, incoming, new PodInfo(victim), n1);
  assert.equal(pl.filter(what, incoming, n1), null, 'victim removed');
  assert.equal(pl.filter(state, incoming, n1)?.message(), REASON_ANTI_AFFINITY_RULES_NOT_MATCH, 'original state untouched');

  pl.preFilterExtensions().addPod(what, incoming, new PodInfo(guard), n2);
  assert.equal(pl.filter(what, incoming, n2)?.message(), REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH, 'added pod with anti-affinity');
  pl.preFilterExtensions().addPod(what, incoming, new PodInfo(victim), n1);
  assert.equal(pl.filter(what, incoming, n1)?.message(), REASON_ANTI_AFFINITY_RULES_NOT_MATCH, 'victim back');

  // Affinity counts follow too: the only matching pod removed means the pod may start the group anywhere only if
  // it matches itself.
  const follower = pod('f', { affinity: affinity(term('db')) });
  const s2 = new CycleState();
  pl.preFilter(s2, follower, nis);
  assert.equal(pl.filter(s2, follower, n1), null);
  pl.preFilterExtensions().removePod(s2, follower, new PodInfo(victim), n1);
  assert.equal(pl.filter(s2, follower, n1)?.message(), REASON_AFFINITY_RULES_NOT_MATCH);
});

test('incremental counts agree with fresh ones over random snapshot changes (Filter and Score)', () => {
  const rng = seededRng(11);
  const rnd = (n: number) => Math.floor(rng() * n);
  const shapes: P[] = [
    { app: 'web', affinity: anti(term('web')) }, { app: 'db', affinity: anti(term('web', ZONE)) }, { app: 'db' },
    { app: 'web', affinity: prefAffinity(3, term('db', ZONE)) }, { app: 'x', affinity: affinity(term('db', ZONE)) },
  ];
  const incoming = [pod('p1', { app: 'web', affinity: anti(term('web')) }), pod('p2', { app: 'x', affinity: { ...affinity(term('db', ZONE)), ...prefAnti(5, term('web')) } })];
  let nis = cluster([]);
  const snap = { current: nis };
  const cached = newInterPodAffinity({}, { snapshot: () => snapshotOf(snap.current) });
  const outcomes = new Set<string>();
  for (let step = 0; step < 200; step++) {
    const i = rnd(nis.length);
    const next = nis[i]!.clone();
    if (next.pods.length && rnd(3) === 0) next.removePod(next.pods[0]!.uid);
    else next.addPod(new PodInfo(pod(`s${step}`, shapes[rnd(shapes.length)])));
    nis = nis.slice();
    nis[i] = next;
    if (rnd(8) === 0) nis.reverse();
    snap.current = nis;
    for (const p of incoming) {
      const fresh = plugin(nis);
      const run = (pl: typeof fresh) => {
        const st = new CycleState();
        const pre = pl.preFilter(st, p, nis).status;
        const filters = pre ? [pre.code] : nis.map((ni) => pl.filter(st, p, ni)?.message() ?? '');
        const ps = pl.preScore(st, p, nis);
        return { filters, scores: ps ? [ps.code] : nis.map((ni) => pl.score(st, p, ni)) };
      };
      const got = run(cached);
      assert.deepEqual(got, run(fresh), `step ${step} ${p.metadata!.name}`);
      outcomes.add(JSON.stringify(got));
    }
  }
  assert.ok(outcomes.size > 20, `the walk should visit many outcomes, got ${outcomes.size}`);
});

// ---- Score -----------------------------------------------------------------------------------------------------------

/** Raw and normalized scores per node, or 'skip'. */
function runScore(p: Pod, nis: NodeInfo[], args?: InterPodAffinityArgs, ns?: NamespaceLister): { raw: number[]; normalized: number[] } | 'skip' {
  const pl = plugin(nis, ns, args);
  const state = new CycleState();
  const pre = pl.preScore(state, p, nis);
  if (pre?.code === Code.Skip) return 'skip';
  assert.equal(pre, null);
  const scores: NodeScore[] = nis.map((ni) => ({ name: ni.name, score: pl.score(state, p, ni) }));
  const raw = scores.map((s) => s.score);
  pl.normalizeScore(state, p, scores);
  return { raw, normalized: scores.map((s) => s.score) };
}

test('Score: preferred terms of the pod and of existing pods, hard affinity weight, as upstream', () => {
  const cases: Array<{ name: string; pod: Pod; existingPods?: Array<{ node: string; pod: Pod }>; args?: InterPodAffinityArgs; wantScores: { raw: number[]; normalized: number[] } | 'skip' }> = [
    { name: 'no terms anywhere: Skip', pod: pod('p'), existingPods: [on('n1', 'e', { app: 'db' })], wantScores: 'skip' },
    { name: 'preferred terms but nothing matches: Skip', pod: pod('p', { affinity: prefAffinity(5, term('db')) }), existingPods: [on('n1', 'e', { app: 'web' })], wantScores: 'skip' },
    {
      name: 'preferred affinity by hostname',
      pod: pod('p', { affinity: prefAffinity(5, term('db')) }), existingPods: [on('n1', 'e', { app: 'db' }), on('n1', 'f', { app: 'db' }), on('n3', 'g', { app: 'db' })],
      wantScores: { raw: [10, 0, 5, 0], normalized: [100, 0, 50, 0] },
    },
    {
      name: 'preferred affinity by zone',
      pod: pod('p', { affinity: prefAffinity(3, term('db', ZONE)) }), existingPods: [on('n2', 'e', { app: 'db' })],
      wantScores: { raw: [3, 3, 0, 0], normalized: [100, 100, 0, 0] },
    },
    {
      name: 'preferred anti-affinity: negative raw scores, min-max normalized',
      pod: pod('p', { affinity: prefAnti(4, term('db', ZONE)) }), existingPods: [on('n1', 'e', { app: 'db' })],
      wantScores: { raw: [-4, -4, 0, 0], normalized: [0, 0, 100, 100] },
    },
    {
      name: 'affinity and anti-affinity combine',
      pod: pod('p', { affinity: { ...prefAffinity(10, term('db', ZONE)), ...prefAnti(4, term('web')) } }),
      existingPods: [on('n1', 'e', { app: 'db' }), on('n1', 'w', { app: 'web' }), on('n3', 'w2', { app: 'web' })],
      wantScores: { raw: [6, 10, -4, 0], normalized: [71, 100, 0, 28] },
    },
    {
      name: 'existing pod required affinity selecting the pod counts the hard weight (default 1)',
      pod: pod('p', { app: 'web' }), existingPods: [on('n3', 'e', { app: 'db', affinity: affinity(term('web')) })],
      wantScores: { raw: [0, 0, 1, 0], normalized: [0, 0, 100, 0] },
    },
    {
      name: 'hardPodAffinityWeight 0 ignores existing required terms',
      pod: pod('p', { app: 'web' }), existingPods: [on('n3', 'e', { app: 'db', affinity: affinity(term('web')) })], args: { hardPodAffinityWeight: 0 },
      wantScores: 'skip',
    },
    {
      name: 'existing pod preferred affinity and anti-affinity toward the pod',
      pod: pod('p', { app: 'web' }),
      existingPods: [on('n1', 'e', { app: 'db', affinity: prefAffinity(7, term('web', ZONE)) }), on('n3', 'f', { app: 'db', affinity: prefAnti(2, term('web')) })],
      wantScores: { raw: [7, 7, -2, 0], normalized: [100, 100, 0, 22] },
    },
    {
      name: 'ignorePreferredTermsOfExistingPods skips pods without preferred terms',
      pod: pod('p', { app: 'web' }), existingPods: [on('n1', 'e', { app: 'db', affinity: prefAffinity(7, term('web')) })], args: { ignorePreferredTermsOfExistingPods: true },
      wantScores: 'skip',
    },
    {
      name: 'existing terms in another namespace do not select the pod',
      pod: pod('p', { app: 'web' }), existingPods: [on('n1', 'e', { app: 'db', ns: 'other', affinity: prefAffinity(7, term('web')) })],
      wantScores: 'skip',
    },
  ];
  for (const c of cases) assert.deepEqual(runScore(c.pod, cluster(c.existingPods ?? []), c.args), c.wantScores, c.name);
  assert.throws(() => newInterPodAffinity({ hardPodAffinityWeight: 101 }), /not in valid range/);
});

// ---- queueing hints ----------------------------------------------------------------------------------------------------

test('queueing hint: which assigned pod changes may help a rejected pod', () => {
  const pl = plugin([]);
  const podEvents = pl.eventsToRegister()[0]!;
  const waiting = pod('p', { affinity: { ...affinity(term('db')), ...anti(term('web')) } });
  const cases: Array<{ name: string; old?: Pod; new?: Pod; want: string }> = [
    { name: 'added pod matching the affinity', new: pod('e', { app: 'db' }), want: 'Queue' },
    { name: 'added pod not matching', new: pod('e', { app: 'x' }), want: 'QueueSkip' },
    { name: 'relabelled into the affinity', old: pod('e', { app: 'x' }), new: pod('e', { app: 'db' }), want: 'Queue' },
    { name: 'relabelled out of the anti-affinity', old: pod('e', { app: 'web' }), new: pod('e', { app: 'x' }), want: 'Queue' },
    { name: 'relabelled, irrelevant', old: pod('e', { app: 'x' }), new: pod('e', { app: 'y' }), want: 'QueueSkip' },
    { name: 'deleted pod matched the anti-affinity', old: pod('e', { app: 'web' }), want: 'Queue' },
    { name: 'deleted pod had required anti-affinity', old: pod('e', { app: 'x', affinity: anti(term('z')) }), want: 'Queue' },
    { name: 'deleted unrelated pod', old: pod('e', { app: 'x' }), want: 'QueueSkip' },
  ];
  for (const c of cases) assert.equal(podEvents.hint!(waiting, c.old, c.new), c.want, c.name);
});
