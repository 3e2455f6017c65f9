import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import {
  computeHash, equalIgnoreHash, maxSurge, maxUnavailable, newRSNewReplicas, replicaSetProportion, resolveFenceposts,
  REVISION_ANNOTATION, REVISION_HISTORY_ANNOTATION, SAFE_ALPHABET, setNewReplicaSetAnnotations,
} from './util.js';

function dep(replicas: number, surge: number | string, unavailable: number | string, type = 'RollingUpdate'): Deployment {
  return {
    metadata: { name: 'web', annotations: { 'kubernetes.io/change-cause': 'why' } },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      strategy: type === 'RollingUpdate' ? { type, rollingUpdate: { maxSurge: surge, maxUnavailable: unavailable } } : { type },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
    },
  };
}

function rs(replicas: number, ann: Record<string, string> = {}): ReplicaSet {
  return { metadata: { name: `rs-${replicas}`, annotations: ann }, spec: { replicas, selector: {} } };
}

test('resolveFenceposts rounds surge up and unavailable down, and never both 0', () => {
  const cases: Array<{ surge: number | string; unav: number | string; desired: number; want: [number, number] }> = [
    { surge: '25%', unav: '25%', desired: 10, want: [3, 2] },
    { surge: '25%', unav: '25%', desired: 1, want: [1, 0] },
    { surge: 0, unav: 0, desired: 3, want: [0, 1] },
    { surge: '0%', unav: '10%', desired: 5, want: [0, 1] },
    { surge: 2, unav: '50%', desired: 3, want: [2, 1] },
  ];
  for (const c of cases) {
    const got = resolveFenceposts(c.surge, c.unav, c.desired);
    assert.deepEqual([got.surge, got.unavailable], c.want, JSON.stringify(c));
  }
  assert.equal(maxUnavailable(dep(2, 0, 5)), 2, 'capped at replicas');
  assert.equal(maxSurge(dep(2, 1, 0, 'Recreate')), 0);
  assert.equal(maxUnavailable(dep(0, 1, 1)), 0);
  assert.throws(() => resolveFenceposts('abc', 0, 3));
});

test('computeHash is stable, uses the safe alphabet and changes with the template and collisionCount', () => {
  const t = dep(1, 1, 0).spec!.template;
  const h = computeHash(t);
  assert.match(h, new RegExp(`^[${SAFE_ALPHABET}]{1,10}$`));
  assert.equal(computeHash(structuredClone(t)), h);
  // Key order and nulls do not matter.
  assert.equal(computeHash({ spec: { containers: [{ image: 'nginx', name: 'c' }] }, metadata: { labels: { app: 'web' }, creationTimestamp: null } as never }), h);
  assert.notEqual(computeHash({ ...t, spec: { containers: [{ name: 'c', image: 'nginx:2' }] } }), h);
  assert.notEqual(computeHash(t, 1), h);
  assert.notEqual(computeHash(t, 1), computeHash(t, 2));
  assert.ok(equalIgnoreHash(t, { ...t, metadata: { labels: { app: 'web', 'pod-template-hash': h } } }));
});

test('setNewReplicaSetAnnotations: revision, history on rollback, replica annotations, change-cause', () => {
  const d = dep(3, 1, 0);
  const fresh = rs(0);
  assert.ok(setNewReplicaSetAnnotations(d, fresh, 1, false));
  assert.deepEqual(fresh.metadata!.annotations, {
    'kubernetes.io/change-cause': 'why',
    [REVISION_ANNOTATION]: '1',
    'deployment.kubernetes.io/desired-replicas': '3',
    'deployment.kubernetes.io/max-replicas': '4',
  });
  assert.equal(setNewReplicaSetAnnotations(d, fresh, 1, true), false, 'nothing to change');
  // An old ReplicaSet brought back gets the next revision and remembers its old ones.
  const back = rs(0, { [REVISION_ANNOTATION]: '1' });
  setNewReplicaSetAnnotations(d, back, 3, true);
  assert.equal(back.metadata!.annotations![REVISION_ANNOTATION], '3');
  assert.equal(back.metadata!.annotations![REVISION_HISTORY_ANNOTATION], '1');
  setNewReplicaSetAnnotations(d, back, 5, true);
  assert.equal(back.metadata!.annotations![REVISION_HISTORY_ANNOTATION], '1,3');
});

test('newRSNewReplicas respects maxSurge; Recreate goes straight to full size', () => {
  const d = dep(10, 3, 2);
  const newRS = rs(0);
  assert.equal(newRSNewReplicas(d, [rs(10), newRS], newRS), 3);
  assert.equal(newRSNewReplicas(d, [rs(13), newRS], newRS), 0);
  assert.equal(newRSNewReplicas(dep(10, 0, 0, 'Recreate'), [rs(10), newRS], newRS), 10);
});

test('replicaSetProportion splits a scale-up by the max-replicas annotation (upstream example)', () => {
  const d = dep(20, 3, 2);
  const old = rs(8, { 'deployment.kubernetes.io/max-replicas': '13' });
  const nw = rs(5, { 'deployment.kubernetes.io/max-replicas': '13' });
  const a = replicaSetProportion(old, d, 10, 0);
  const b = replicaSetProportion(nw, d, 10, a);
  assert.deepEqual([a, b], [6, 4]);
  assert.equal(replicaSetProportion(old, dep(0, 3, 2), -8, 0), -8);
});
