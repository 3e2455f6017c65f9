import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { ResourceClient } from '../../client/dynamic.js';
import { startControllerTestEnv, type ControllerTestEnv } from '../testing.js';
import { definition } from './index.js';

// Only the deployment controller runs: the test writes ReplicaSet status by hand, so an old ReplicaSet can report more
// available replicas than its (just lowered) spec — the window between a scale-down and the ReplicaSet controller
// deleting the pods. Upstream `cleanupUnhealthyReplicas` refuses to "clean up" such a ReplicaSet (it would scale it
// back up); found by `npm run bench:controllers`, where it made a 1,000-replica rollout create 1,250 pods.

const NS = 'default';
let env: ControllerTestEnv;
let dc: ResourceClient<Deployment>;
let rsc: ResourceClient<ReplicaSet>;

before(async () => {
  env = await startControllerTestEnv();
  dc = env.client.resource<Deployment>('apps/v1', 'Deployment');
  rsc = env.client.resource<ReplicaSet>('apps/v1', 'ReplicaSet');
  await env.run([definition]);
});
after(async () => {
  await env.close();
});

async function rsWithImage(image: string): Promise<ReplicaSet | undefined> {
  return (await rsc.list(NS)).items.find((r) => r.spec?.template?.spec?.containers?.[0]?.image === image);
}

async function setStatus(rs: ReplicaSet, n: number): Promise<void> {
  const cur = await rsc.get(NS, rs.metadata!.name!);
  await rsc.updateStatus(NS, { ...cur, status: { replicas: n, readyReplicas: n, availableReplicas: n, fullyLabeledReplicas: n, observedGeneration: cur.metadata?.generation } });
}

test('an old ReplicaSet whose status lags its scale-down is not scaled back up', async () => {
  await dc.create(NS, {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'stale', namespace: NS },
    spec: {
      replicas: 4,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } },
      selector: { matchLabels: { app: 'stale' } },
      template: { metadata: { labels: { app: 'stale' } }, spec: { containers: [{ name: 'c', image: 'a:1' }] } },
    },
  });
  const rsA = await env.eventually(() => rsWithImage('a:1'), 5000, 'first ReplicaSet');
  await setStatus(rsA, 4);
  await dc.patch(NS, 'stale', 'strategic', { spec: { template: { spec: { containers: [{ name: 'c', image: 'b:1' }] } } } });
  // Surge 1 new replica, then the old one goes 4 → 3 (4 available, 3 needed); its status still says 4 available.
  const rsB = await env.eventually(() => rsWithImage('b:1'), 5000, 'new ReplicaSet');
  await env.eventually(async () => (await rsc.get(NS, rsA.metadata!.name!)).spec?.replicas === 3, 5000, 'old ReplicaSet at 3');
  const gen = (await rsc.get(NS, rsA.metadata!.name!)).metadata?.generation;
  // The new replica becomes available: the new ReplicaSet may surge to 2, and then the old one has "unhealthy"
  // replicas by spec − available = 3 − 4 = −1, which must not turn into a scale-up to 4.
  await setStatus(rsB, 1);
  await env.eventually(async () => (await rsc.get(NS, rsB.metadata!.name!)).spec?.replicas === 2, 5000, 'new ReplicaSet at 2');
  await new Promise((r) => setTimeout(r, 300));
  const stuck = await rsc.get(NS, rsA.metadata!.name!);
  assert.equal(stuck.spec?.replicas, 3);
  assert.equal(stuck.metadata?.generation, gen);
  // Once the old ReplicaSet's status catches up, the rollout goes on: 3 → 2.
  await setStatus(rsA, 3);
  const next = await env.eventually(async () => {
    const r = await rsc.get(NS, rsA.metadata!.name!);
    return r.spec?.replicas !== 3 && r;
  }, 5000, 'old ReplicaSet scaled down further');
  assert.equal(next.spec?.replicas, 2);
  assert.equal(next.metadata?.generation, (gen ?? 0) + 1);
});
