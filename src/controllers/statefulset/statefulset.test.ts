import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ControllerRevision, StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import { startControllerTestEnv, type ControllerTestEnv } from '../testing.js';
import { definition } from './index.js';

let env: ControllerTestEnv;
let n = 0;

before(async () => {
  env = await startControllerTestEnv();
  await env.run([definition]);
});
after(async () => {
  await env.close();
});

const sets = () => env.client.resource<StatefulSet>('apps/v1', 'StatefulSet');
const pods = () => env.client.resource<Pod>('v1', 'Pod');
const pvcs = () => env.client.resource<PersistentVolumeClaim>('v1', 'PersistentVolumeClaim');
const revs = () => env.client.resource<ControllerRevision>('apps/v1', 'ControllerRevision');

/** Each test gets its own namespace so sets and pods never mix. */
async function namespace(): Promise<string> {
  const ns = `sts-${++n}`;
  await env.client.resource('v1', 'Namespace').create(undefined, { metadata: { name: ns } } as never);
  return ns;
}

function sts(name: string, spec: Partial<NonNullable<StatefulSet['spec']>> = {}): StatefulSet {
  return {
    metadata: { name },
    spec: {
      serviceName: 'nginx',
      replicas: 3,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx:1' }] } },
      ...spec,
    },
  };
}

async function podMap(ns: string): Promise<Map<string, Pod>> {
  return new Map((await pods().list(ns)).items.map((p) => [p.metadata!.name!, p]));
}

/** Plays the kubelet: Running with a Ready condition. */
async function markReady(ns: string, name: string): Promise<void> {
  const p = await pods().get(ns, name);
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  await pods().updateStatus(ns, {
    ...p,
    status: {
      ...p.status,
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }],
      containerStatuses: [{ name: 'c', image: 'nginx:1', imageID: '', ready: true, restartCount: 0, started: true, state: { running: { startedAt: now } } }],
    },
  });
}

async function waitPods(ns: string, names: string[], what: string): Promise<Map<string, Pod>> {
  return env.eventually(async () => {
    const m = await podMap(ns);
    return [...m.keys()].sort().join(',') === [...names].sort().join(',') ? m : undefined;
  }, 10_000, what);
}

/** Brings `names` up one by one, as OrderedReady requires. */
async function bringUp(ns: string, names: string[]): Promise<void> {
  for (let i = 0; i < names.length; i++) {
    await waitPods(ns, names.slice(0, i + 1), `${names[i]} created`);
    await markReady(ns, names[i]!);
  }
}

test('OrderedReady creates one ordinal at a time with identity, PVCs and a revision', async () => {
  const ns = await namespace();
  await sets().create(ns, sts('web', {
    volumeClaimTemplates: [{ metadata: { name: 'www' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
  }));
  const first = await waitPods(ns, ['web-0'], 'web-0');
  // web-1 must not appear while web-0 is not Ready
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual([...(await podMap(ns)).keys()], ['web-0']);

  const p0 = first.get('web-0')!;
  assert.equal(p0.spec?.hostname, 'web-0');
  assert.equal(p0.spec?.subdomain, 'nginx');
  assert.equal(p0.metadata?.labels?.['statefulset.kubernetes.io/pod-name'], 'web-0');
  assert.equal(p0.metadata?.labels?.['apps.kubernetes.io/pod-index'], '0');
  const set = await sets().get(ns, 'web');
  const ref = p0.metadata?.ownerReferences?.[0];
  assert.deepEqual({ kind: ref?.kind, name: ref?.name, uid: ref?.uid, controller: ref?.controller, block: ref?.blockOwnerDeletion },
    { kind: 'StatefulSet', name: 'web', uid: set.metadata?.uid, controller: true, block: true });
  assert.deepEqual(p0.spec?.volumes?.find((v) => v.name === 'www')?.persistentVolumeClaim, { claimName: 'www-web-0' });
  const claim = await pvcs().get(ns, 'www-web-0');
  assert.equal(claim.metadata?.labels?.app, 'web');

  await bringUp(ns, ['web-0', 'web-1', 'web-2']);
  const done = await env.eventually(async () => {
    const s = await sets().get(ns, 'web');
    return s.status?.readyReplicas === 3 && s.status.availableReplicas === 3 ? s : undefined;
  }, 10_000, 'status ready 3');
  assert.equal(done.status?.replicas, 3);
  assert.equal(done.status?.currentRevision, done.status?.updateRevision);
  assert.equal(done.status?.currentReplicas, 3);
  assert.equal(done.status?.observedGeneration, done.metadata?.generation);
  const rev = await revs().get(ns, done.status!.updateRevision!);
  assert.equal(rev.revision, 1);
  assert.match(rev.metadata!.name!, /^web-[bcdfghjklmnpqrstvwxz2456789]+$/);
  assert.equal((rev.data as { spec: { template: Record<string, unknown> } }).spec.template.$patch, 'replace');
  assert.equal(p0.metadata?.labels?.['controller-revision-hash'], rev.metadata?.name);
  for (const c of ['www-web-1', 'www-web-2']) await pvcs().get(ns, c);

  const events = await env.eventually(async () => {
    const evs = (await env.client.resource<{ reason?: string; message?: string }>('v1', 'Event').list(ns)).items;
    return evs.some((e) => e.message === 'create Pod web-2 in StatefulSet web successful') ? evs : undefined;
  }, 10_000, 'create events');
  assert.ok(events.some((e) => e.reason === 'SuccessfulCreate' && e.message === 'create Pod web-0 in StatefulSet web successful'));
  assert.ok(events.some((e) => e.reason === 'SuccessfulCreate' && e.message === 'create Claim www-web-0 Pod web-0 in StatefulSet web success'));
});

test('scale down removes the highest ordinal first, one at a time', async () => {
  const ns = await namespace();
  await sets().create(ns, sts('db'));
  await bringUp(ns, ['db-0', 'db-1', 'db-2']);
  const deleted: string[] = [];
  const w = pods().watch(ns, { resourceVersion: (await pods().list(ns)).metadata.resourceVersion }, (ev) => {
    if (ev.type === 'DELETED') deleted.push((ev.object as Pod).metadata!.name!);
  }, () => {});
  try {
    await sets().patch(ns, 'db', 'merge', { spec: { replicas: 1 } });
    await waitPods(ns, ['db-0'], 'scaled to 1');
    await env.eventually(() => deleted.length === 2, 5_000, 'two deletions watched');
    assert.deepEqual(deleted, ['db-2', 'db-1']);
  } finally {
    w.abort();
  }
  await env.eventually(async () => (await sets().get(ns, 'db')).status?.replicas === 1, 10_000, 'status replicas 1');
});

test('Parallel creates every ordinal at once and recreates a failed pod', async () => {
  const ns = await namespace();
  await sets().create(ns, sts('par', { podManagementPolicy: 'Parallel' }));
  const m = await waitPods(ns, ['par-0', 'par-1', 'par-2'], 'all three without readiness');
  const oldUid = m.get('par-1')!.metadata!.uid;
  const p1 = m.get('par-1')!;
  await pods().updateStatus(ns, { ...p1, status: { ...p1.status, phase: 'Failed' } });
  await env.eventually(async () => {
    const p = (await podMap(ns)).get('par-1');
    return p && p.metadata!.uid !== oldUid;
  }, 10_000, 'par-1 recreated');
});

test('RollingUpdate with partition 1 replaces only ordinals >= 1, highest first', async () => {
  const ns = await namespace();
  await sets().create(ns, sts('ru'));
  await bringUp(ns, ['ru-0', 'ru-1', 'ru-2']);
  const before = await env.eventually(async () => {
    const s = await sets().get(ns, 'ru');
    return s.status?.readyReplicas === 3 ? s : undefined;
  }, 10_000, 'ready');
  const oldRev = before.status!.currentRevision!;
  await sets().patch(ns, 'ru', 'merge', {
    spec: {
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } },
      template: { spec: { containers: [{ name: 'c', image: 'nginx:2' }] } },
    },
  });
  const newRev = await env.eventually(async () => {
    const s = await sets().get(ns, 'ru');
    return s.status?.updateRevision && s.status.updateRevision !== oldRev ? s.status.updateRevision : undefined;
  }, 10_000, 'new update revision');
  const rev = (n: string, m: Map<string, Pod>) => m.get(n)?.metadata?.labels?.['controller-revision-hash'];
  // ru-2 is replaced first; ru-1 waits until ru-2 is Ready
  await env.eventually(async () => rev('ru-2', await podMap(ns)) === newRev, 10_000, 'ru-2 updated');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(rev('ru-1', await podMap(ns)), oldRev);
  assert.equal((await pods().get(ns, 'ru-2')).spec?.containers[0]?.image, 'nginx:2');
  await markReady(ns, 'ru-2');
  await env.eventually(async () => rev('ru-1', await podMap(ns)) === newRev, 10_000, 'ru-1 updated');
  await markReady(ns, 'ru-1');
  const s = await env.eventually(async () => {
    const s = await sets().get(ns, 'ru');
    return s.status?.updatedReplicas === 2 && s.status.readyReplicas === 3 ? s : undefined;
  }, 10_000, 'status after partitioned update');
  const m = await podMap(ns);
  assert.equal(rev('ru-0', m), oldRev);
  assert.equal(m.get('ru-0')?.spec?.containers[0]?.image, 'nginx:1');
  assert.equal(s.status?.currentRevision, oldRev);
  assert.equal(s.status?.currentReplicas, 1);
  const all = (await revs().list(ns)).items.map((r) => r.revision).sort();
  assert.deepEqual(all, [1, 2]);
});

test('OnDelete keeps pods until they are deleted, then recreates them on the update revision', async () => {
  const ns = await namespace();
  await sets().create(ns, sts('od', { replicas: 1, podManagementPolicy: 'Parallel', updateStrategy: { type: 'OnDelete' } }));
  await waitPods(ns, ['od-0'], 'od-0');
  await markReady(ns, 'od-0');
  await sets().patch(ns, 'od', 'merge', { spec: { template: { spec: { containers: [{ name: 'c', image: 'nginx:2' }] } } } });
  const newRev = await env.eventually(async () => {
    const s = await sets().get(ns, 'od');
    return s.status?.updateRevision !== s.status?.currentRevision ? s.status?.updateRevision : undefined;
  }, 10_000, 'new revision');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await pods().get(ns, 'od-0')).spec?.containers[0]?.image, 'nginx:1');
  await pods().delete(ns, 'od-0', { gracePeriodSeconds: 0 });
  await env.eventually(async () => (await podMap(ns)).get('od-0')?.metadata?.labels?.['controller-revision-hash'] === newRev, 10_000, 'recreated on new revision');
});

test('whenScaled: Delete points the condemned claim at its pod; whenDeleted: Delete points claims at the set', async () => {
  const ns = await namespace();
  await sets().create(ns, sts('ret', {
    replicas: 2,
    podManagementPolicy: 'Parallel',
    persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Delete' },
    volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
  }));
  await waitPods(ns, ['ret-0', 'ret-1'], 'two pods');
  const set = await sets().get(ns, 'ret');
  const c0 = await env.eventually(async () => (await pvcs().list(ns)).items.find((c) => c.metadata?.name === 'data-ret-0'), 10_000, 'claim');
  assert.deepEqual(c0.metadata?.ownerReferences?.map((r) => [r.kind, r.uid]), [['StatefulSet', set.metadata?.uid]]);
  // scale down: data-ret-1 must be owned by pod ret-1 before it goes
  const uid1 = (await pods().get(ns, 'ret-1')).metadata?.uid;
  const seen: string[][] = [];
  const w = pvcs().watch(ns, { resourceVersion: (await pvcs().list(ns)).metadata.resourceVersion }, (ev) => {
    const c = ev.object as PersistentVolumeClaim;
    if (c.metadata?.name === 'data-ret-1') seen.push((c.metadata.ownerReferences ?? []).map((r) => `${r.kind}/${r.uid}`));
  }, () => {});
  try {
    await sets().patch(ns, 'ret', 'merge', { spec: { replicas: 1 } });
    await waitPods(ns, ['ret-0'], 'scaled down');
    await env.eventually(() => seen.some((refs) => refs.includes(`Pod/${uid1}`)), 5_000, 'claim owned by pod');
  } finally {
    w.abort();
  }
});
