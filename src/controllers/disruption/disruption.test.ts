import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import { startControllerTestEnv, type ControllerTestEnv } from '../testing.js';
import { definition, expectedCounts } from './index.js';

const NS = 'default';

test('expectedCounts: table', () => {
  const pdb = (spec: PodDisruptionBudget['spec']): PodDisruptionBudget => ({ metadata: { name: 'p' }, spec });
  const cases: Array<{ name: string; spec: PodDisruptionBudget['spec']; pods: number; scale: number; want: { expectedCount: number; desiredHealthy: number } }> = [
    { name: 'minAvailable int uses pod count', spec: { minAvailable: 2 }, pods: 3, scale: 5, want: { expectedCount: 3, desiredHealthy: 2 } },
    { name: 'minAvailable % uses scale, rounds up', spec: { minAvailable: '50%' }, pods: 3, scale: 5, want: { expectedCount: 5, desiredHealthy: 3 } },
    { name: 'maxUnavailable int', spec: { maxUnavailable: 1 }, pods: 3, scale: 4, want: { expectedCount: 4, desiredHealthy: 3 } },
    { name: 'maxUnavailable % rounds up', spec: { maxUnavailable: '30%' }, pods: 3, scale: 4, want: { expectedCount: 4, desiredHealthy: 2 } },
    { name: 'maxUnavailable above scale', spec: { maxUnavailable: 9 }, pods: 3, scale: 4, want: { expectedCount: 4, desiredHealthy: 0 } },
    { name: 'neither', spec: {}, pods: 3, scale: 4, want: { expectedCount: 0, desiredHealthy: 0 } },
  ];
  for (const c of cases) assert.deepEqual(expectedCounts(pdb(c.spec), c.pods, () => c.scale), c.want, c.name);
});

async function setReady(env: ControllerTestEnv, name: string, ready: boolean): Promise<void> {
  const pods = env.client.resource<Pod>('v1', 'Pod');
  const p = await pods.get(NS, name);
  await pods.updateStatus(NS, { ...p, status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] } });
}

test('PDB status follows pod readiness and controller scale', async () => {
  const env = await startControllerTestEnv();
  try {
    await env.run([definition]);
    const pods = env.client.resource<Pod>('v1', 'Pod');
    const pdbs = env.client.resource<PodDisruptionBudget>('policy/v1', 'PodDisruptionBudget');
    const rss = env.client.resource<ReplicaSet>('apps/v1', 'ReplicaSet');
    const rs = await rss.create(NS, {
      metadata: { name: 'web' },
      spec: { replicas: 4, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
    });
    const owner = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: rs.metadata!.uid!, controller: true, blockOwnerDeletion: true }];
    for (const n of ['a', 'b', 'c']) {
      await pods.create(NS, { metadata: { name: n, labels: { app: 'web' }, ownerReferences: owner }, spec: { containers: [{ name: 'c', image: 'x' }] } });
      await setReady(env, n, true);
    }
    await pdbs.create(NS, { metadata: { name: 'min2' }, spec: { minAvailable: 2, selector: { matchLabels: { app: 'web' } } } });
    const get = (n: string) => pdbs.get(NS, n).then((p) => p.status);
    let st = await env.eventually(async () => {
      const s = await get('min2');
      return s?.currentHealthy === 3 ? s : undefined;
    }, 10_000, 'min2 status');
    assert.equal(st.disruptionsAllowed, 1);
    assert.equal(st.desiredHealthy, 2);
    assert.equal(st.expectedPods, 3);
    assert.equal(st.observedGeneration, 1);
    const cond = st.conditions?.find((c) => c.type === 'DisruptionAllowed');
    assert.equal(cond?.status, 'True');
    assert.equal(cond?.reason, 'SufficientPods');

    await setReady(env, 'b', false);
    st = await env.eventually(async () => {
      const s = await get('min2');
      return s?.currentHealthy === 2 ? s : undefined;
    }, 10_000, 'one pod unready');
    assert.equal(st.disruptionsAllowed, 0);
    const c2 = st.conditions?.find((c) => c.type === 'DisruptionAllowed');
    assert.equal(c2?.status, 'False');
    assert.equal(c2?.reason, 'InsufficientPods');

    // maxUnavailable is relative to the ReplicaSet's replicas (4), not the 3 pods that exist.
    await pdbs.create(NS, { metadata: { name: 'max1' }, spec: { maxUnavailable: 1, selector: { matchLabels: { app: 'web' } } } });
    st = await env.eventually(async () => {
      const s = await get('max1');
      return s?.expectedPods === 4 ? s : undefined;
    }, 10_000, 'max1 status');
    assert.equal(st.desiredHealthy, 3);
    assert.equal(st.disruptionsAllowed, 0);
    await rss.patch(NS, 'web', 'merge', { spec: { replicas: 2 } });
    st = await env.eventually(async () => {
      const s = await get('max1');
      return s?.expectedPods === 2 ? s : undefined;
    }, 10_000, 'max1 follows scale');
    assert.equal(st.desiredHealthy, 1);
    assert.equal(st.disruptionsAllowed, 1);
  } finally {
    await env.close();
  }
});
