import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { CoreEvent } from '../../client/events.js';
import type { ResourceClient } from '../../client/dynamic.js';
import { startControllerTestEnv, type ControllerTestEnv } from '../testing.js';
import { definition } from './index.js';

const NS = 'default';

function rs(name: string, replicas: number, extra: Partial<NonNullable<ReplicaSet['spec']>> = {}): ReplicaSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name, namespace: NS },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name, tier: 'x' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
      ...extra,
    },
  };
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Plays the kubelet for one pod: Running, Ready True since `readySince`. */
async function markReady(pods: ResourceClient<Pod>, p: Pod, readySince = Date.now()): Promise<void> {
  const t = rfc3339(readySince);
  // Unconditional (no resourceVersion), as the kubelet's status manager may race other writers.
  await pods.updateStatus(NS, {
    ...p,
    metadata: { ...p.metadata, resourceVersion: undefined },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: t }, { type: 'ContainersReady', status: 'True', lastTransitionTime: t }] },
  });
}

describe('replicaset controller', () => {
  let env: ControllerTestEnv;
  let rsc: ResourceClient<ReplicaSet>;
  let pods: ResourceClient<Pod>;
  let events: ResourceClient<CoreEvent>;
  const owned = async (name: string) => {
    const cur = await rsc.get(NS, name);
    return (await pods.list(NS)).items.filter((p) => p.metadata?.ownerReferences?.some((r) => r.uid === cur.metadata?.uid));
  };
  const eventsFor = async (name: string, reason: string) =>
    (await events.list(NS)).items.filter((e) => e.involvedObject.name === name && e.reason === reason);

  before(async () => {
    env = await startControllerTestEnv();
    rsc = env.client.resource<ReplicaSet>('apps/v1', 'ReplicaSet');
    pods = env.client.resource<Pod>('v1', 'Pod');
    events = env.client.resource<CoreEvent>('v1', 'Event');
    await env.run([definition]);
  });
  after(async () => {
    await env.close();
  });

  test('creates pods from the template with controller owner references and events', async () => {
    const created = await rsc.create(NS, rs('web', 3));
    const got = await env.eventually(async () => {
      const ps = await owned('web');
      return ps.length === 3 && ps;
    }, 10_000, '3 pods');
    for (const p of got) {
      assert.match(p.metadata!.name!, /^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
      assert.deepEqual(p.metadata?.labels, { app: 'web', tier: 'x' });
      assert.deepEqual(p.metadata?.ownerReferences, [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: created.metadata!.uid, controller: true, blockOwnerDeletion: true },
      ]);
    }
    await env.eventually(async () => (await rsc.get(NS, 'web')).status?.replicas === 3, 10_000, 'status.replicas 3');
    const st = (await rsc.get(NS, 'web')).status!;
    assert.equal(st.fullyLabeledReplicas, 3);
    assert.equal(st.readyReplicas ?? 0, 0);
    assert.equal(st.observedGeneration, 1);
    const evs = await env.eventually(async () => {
      const e = await eventsFor('web', 'SuccessfulCreate');
      return e.length === 3 && e;
    }, 10_000, 'SuccessfulCreate events');
    assert.deepEqual(evs.map((e) => e.message).sort(), got.map((p) => `Created pod: ${p.metadata!.name}`).sort());
    assert.equal(evs[0]!.source.component, 'replicaset-controller');
  });

  test('status counts ready pods, and scale-down deletes not-ready pods before ready ones', async () => {
    await rsc.create(NS, rs('down', 3));
    const ps = await env.eventually(async () => {
      const x = await owned('down');
      return x.length === 3 && x;
    }, 10_000, '3 pods');
    const [a, b, c] = ps as [Pod, Pod, Pod];
    await markReady(pods, a, Date.now() - 60_000);
    await markReady(pods, b);
    await env.eventually(async () => (await rsc.get(NS, 'down')).status?.readyReplicas === 2, 10_000, 'readyReplicas 2');
    assert.equal((await rsc.get(NS, 'down')).status?.availableReplicas, 2);
    await rsc.scale(NS, 'down', 2);
    await env.eventually(async () => (await owned('down')).length === 2, 10_000, 'scaled to 2');
    const left = (await owned('down')).map((p) => p.metadata!.name).sort();
    assert.deepEqual(left, [a.metadata!.name, b.metadata!.name].sort(), `the not-ready pod ${c.metadata!.name} goes first`);
    // Among ready pods, the one ready for the shortest time goes first.
    await rsc.scale(NS, 'down', 1);
    await env.eventually(async () => (await owned('down')).length === 1, 10_000, 'scaled to 1');
    assert.equal((await owned('down'))[0]!.metadata!.name, a.metadata!.name);
    await env.eventually(async () => (await eventsFor('down', 'SuccessfulDelete')).length === 2, 10_000, 'SuccessfulDelete events');
    assert.ok((await eventsFor('down', 'SuccessfulDelete')).some((e) => e.message === `Deleted pod: ${c.metadata!.name}`));
    await env.eventually(async () => {
      const s = (await rsc.get(NS, 'down')).status;
      return s?.replicas === 1 && s.readyReplicas === 1 && s.availableReplicas === 1 && s.observedGeneration === 3;
    }, 10_000, 'status after scale-down');
  });

  test('adopts matching orphans and releases pods that stop matching', async () => {
    const orphan = await pods.create(NS, { metadata: { name: 'orphan-1', labels: { app: 'adopt' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } });
    const r = await rsc.create(NS, rs('adopt', 2));
    await env.eventually(async () => (await owned('adopt')).length === 2, 10_000, '2 owned pods');
    const ps = await owned('adopt');
    assert.ok(ps.some((p) => p.metadata?.name === 'orphan-1'), 'orphan adopted');
    const ref = (await pods.get(NS, 'orphan-1')).metadata?.ownerReferences;
    assert.deepEqual(ref, [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'adopt', uid: r.metadata!.uid, controller: true, blockOwnerDeletion: true }]);
    // Relabel: the ReplicaSet lets go of it and creates a replacement.
    await pods.patch(NS, 'orphan-1', 'merge', { metadata: { labels: { app: 'elsewhere' } } });
    await env.eventually(async () => !(await pods.get(NS, 'orphan-1')).metadata?.ownerReferences?.length, 10_000, 'released');
    await env.eventually(async () => {
      const x = await owned('adopt');
      return x.length === 2 && !x.some((p) => p.metadata?.name === orphan.metadata?.name);
    }, 10_000, 'replacement created');
    // A pod controlled by someone else is never adopted.
    await pods.create(NS, {
      metadata: { name: 'foreign-1', labels: { app: 'adopt' }, ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'u-1', controller: true }] },
      spec: { containers: [{ name: 'c', image: 'nginx' }] },
    });
    await rsc.patch(NS, 'adopt', 'merge', { metadata: { annotations: { poke: '1' } } });
    await new Promise((res) => setTimeout(res, 300));
    assert.equal((await pods.get(NS, 'foreign-1')).metadata?.ownerReferences?.[0]?.uid, 'u-1');
    assert.equal((await owned('adopt')).length, 2);
  });

  test('expectations: rapid re-syncs never create more than spec.replicas pods', async () => {
    await rsc.create(NS, rs('burst', 8));
    let max = 0;
    const poke = (async () => {
      for (let i = 0; i < 15; i++) await rsc.patch(NS, 'burst', 'merge', { metadata: { annotations: { poke: String(i) } } });
    })();
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      const n = (await owned('burst')).length;
      max = Math.max(max, n);
      if (n === 8 && max === 8 && Date.now() > deadline - 2000) break;
      await new Promise((res) => setTimeout(res, 20));
    }
    await poke;
    await env.eventually(async () => (await owned('burst')).length === 8, 10_000, '8 pods');
    await new Promise((res) => setTimeout(res, 200));
    assert.equal((await owned('burst')).length, 8);
    assert.equal(max, 8);
    assert.equal((await eventsFor('burst', 'SuccessfulCreate')).length, 8);
  });

  test('terminal and terminating pods are not active and get replaced', async () => {
    await rsc.create(NS, rs('term', 2));
    const ps = await env.eventually(async () => {
      const x = await owned('term');
      return x.length === 2 && x;
    }, 10_000, '2 pods');
    await pods.updateStatus(NS, { ...ps[0]!, status: { phase: 'Failed' } });
    await env.eventually(async () => (await owned('term')).filter((p) => p.status?.phase !== 'Failed').length === 2, 10_000, 'failed pod replaced');
    await env.eventually(async () => (await rsc.get(NS, 'term')).status?.replicas === 2, 10_000, 'status.replicas counts active pods');
  });

  test('availableReplicas waits for minReadySeconds', async () => {
    await rsc.create(NS, rs('minready', 1, { minReadySeconds: 3 }));
    const [p] = await env.eventually(async () => {
      const x = await owned('minready');
      return x.length === 1 && x;
    }, 10_000, '1 pod');
    const readyAt = Date.now();
    await markReady(pods, p!);
    await env.eventually(async () => (await rsc.get(NS, 'minready')).status?.readyReplicas === 1, 10_000, 'ready');
    const early = (await rsc.get(NS, 'minready')).status?.availableReplicas ?? 0;
    // Not available before minReadySeconds have passed (checked only while they surely have not, on a loaded host).
    if (Date.now() - readyAt < 1_500) assert.equal(early, 0);
    await env.eventually(async () => (await rsc.get(NS, 'minready')).status?.availableReplicas === 1, 10_000, 'available after minReadySeconds');
    // lastTransitionTime has whole seconds (RFC 3339), so up to 1 s of minReadySeconds may already have passed.
    assert.ok(Date.now() - readyAt >= 1_900, 'available only after minReadySeconds');
  });
});
