import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isNotFound } from '../../client/rest.js';
import { startControllerTestEnv, type ControllerTestEnv } from '../testing.js';
import { definition, garbageCollectableResources } from './index.js';

interface Obj {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string; deletionTimestamp?: string; finalizers?: string[]; ownerReferences?: Array<Record<string, unknown>> };
  data?: Record<string, string>;
  spec?: unknown;
}

let env: ControllerTestEnv;
let nsCount = 0;

before(async () => {
  env = await startControllerTestEnv();
  env.server.core.opts.garbageCollectorEnabled = () => true;
  await env.run([definition]);
});
after(async () => { await env.close(); });

const cms = () => env.client.resource<Obj>('v1', 'ConfigMap');
const pods = () => env.client.resource<Obj>('v1', 'Pod');

async function freshNamespace(): Promise<string> {
  const name = `gc-${++nsCount}`;
  await env.client.resource<Obj>('v1', 'Namespace').create(undefined, { metadata: { name } });
  return name;
}

function ref(owner: Obj, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'ConfigMap', name: owner.metadata.name, uid: owner.metadata.uid, ...extra };
}

async function gone(get: () => Promise<unknown>): Promise<boolean> {
  try {
    await get();
    return false;
  } catch (e) {
    if (isNotFound(e)) return true;
    throw e;
  }
}

/** An owner ConfigMap with one ConfigMap and one Pod dependent. */
async function family(ns: string, refExtra: Record<string, unknown> = {}): Promise<{ owner: Obj; cm: Obj; pod: Obj }> {
  const owner = await cms().create(ns, { metadata: { name: 'owner' } });
  const cm = await cms().create(ns, { metadata: { name: 'dep-cm', ownerReferences: [ref(owner, refExtra)] } });
  const pod = await pods().create(ns, { metadata: { name: 'dep-pod', ownerReferences: [ref(owner, refExtra)] }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
  return { owner, cm, pod };
}

describe('garbage collector', () => {
  test('watches one version per storage and never events', () => {
    const rs = garbageCollectableResources();
    assert.equal(rs.filter((r) => r.resource === 'horizontalpodautoscalers').length, 1);
    assert.equal(rs.filter((r) => r.resource === 'events').length, 0);
    assert.ok(rs.some((r) => r.kind === 'Pod') && rs.some((r) => r.kind === 'Namespace') && rs.some((r) => r.kind === 'Deployment'));
    assert.ok(!rs.some((r) => r.kind === 'TokenReview'));
  });

  test('Background: dependents are deleted after the owner goes', async () => {
    const ns = await freshNamespace();
    await family(ns);
    await cms().delete(ns, 'owner', { propagationPolicy: 'Background' });
    await env.eventually(async () => (await gone(() => cms().get(ns, 'dep-cm'))) && (await gone(() => pods().get(ns, 'dep-pod'))), 10_000, 'dependents deleted');
  });

  test('Foreground: the owner stays (deletionTimestamp) until blocking dependents are gone', async () => {
    const ns = await freshNamespace();
    // A dependent with its own finalizer blocks the owner until that finalizer is removed.
    const { owner } = await family(ns, { blockOwnerDeletion: true });
    await cms().patch(ns, 'dep-cm', 'merge', { metadata: { finalizers: ['example.com/hold'] } });
    await cms().delete(ns, 'owner', { propagationPolicy: 'Foreground' });
    const marked = await cms().get(ns, 'owner');
    assert.ok(marked.metadata.deletionTimestamp);
    assert.deepEqual(marked.metadata.finalizers, ['foregroundDeletion']);
    await env.eventually(async () => gone(() => pods().get(ns, 'dep-pod')), 10_000, 'pod dependent deleted');
    await env.eventually(async () => Boolean((await cms().get(ns, 'dep-cm')).metadata.deletionTimestamp), 10_000, 'cm dependent marked');
    await new Promise((r) => setTimeout(r, 300));
    const still = await cms().get(ns, 'owner');
    assert.equal(still.metadata.uid, owner.metadata.uid, 'owner waits for its blocking dependent');
    await cms().patch(ns, 'dep-cm', 'merge', { metadata: { finalizers: null } });
    await env.eventually(async () => gone(() => cms().get(ns, 'owner')), 10_000, 'owner deleted after its dependents');
    assert.ok(await gone(() => cms().get(ns, 'dep-cm')));
  });

  test('Foreground: non-blocking dependents do not hold the owner but are still deleted', async () => {
    const ns = await freshNamespace();
    await family(ns);
    await cms().delete(ns, 'owner', { propagationPolicy: 'Foreground' });
    await env.eventually(async () => (await gone(() => cms().get(ns, 'owner'))) && (await gone(() => cms().get(ns, 'dep-cm'))) && (await gone(() => pods().get(ns, 'dep-pod'))), 10_000, 'all deleted');
  });

  test('Orphan: dependents stay without the owner reference', async () => {
    const ns = await freshNamespace();
    const { owner } = await family(ns, { controller: true, blockOwnerDeletion: true });
    const other = await cms().create(ns, { metadata: { name: 'other-owner' } });
    await cms().patch(ns, 'dep-cm', 'merge', { metadata: { ownerReferences: [ref(owner, { controller: true, blockOwnerDeletion: true }), ref(other)] } });
    await cms().delete(ns, 'owner', { propagationPolicy: 'Orphan' });
    await env.eventually(async () => gone(() => cms().get(ns, 'owner')), 10_000, 'owner deleted');
    const cm = await cms().get(ns, 'dep-cm');
    assert.deepEqual(cm.metadata.ownerReferences?.map((r) => r.uid), [other.metadata.uid]);
    const pod = await pods().get(ns, 'dep-pod');
    assert.equal(pod.metadata.ownerReferences, undefined);
    // Later, nothing deletes them.
    await new Promise((r) => setTimeout(r, 300));
    await cms().get(ns, 'dep-cm');
    await pods().get(ns, 'dep-pod');
  });

  test('a dangling reference (owner UID never existed) gets the dependent deleted', async () => {
    const ns = await freshNamespace();
    await cms().create(ns, { metadata: { name: 'orphaned', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'ghost', uid: '00000000-0000-0000-0000-000000000001' }] } });
    // A same-named owner with another UID is not the owner either.
    await cms().create(ns, { metadata: { name: 'real' } });
    await cms().create(ns, { metadata: { name: 'wrong-uid', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'real', uid: '00000000-0000-0000-0000-000000000002' }] } });
    await env.eventually(async () => (await gone(() => cms().get(ns, 'orphaned'))) && (await gone(() => cms().get(ns, 'wrong-uid'))), 10_000, 'dangling dependents deleted');
    await cms().get(ns, 'real');
  });

  test('a dependent with one live owner keeps it and loses only the dangling reference', async () => {
    const ns = await freshNamespace();
    const live = await cms().create(ns, { metadata: { name: 'live' } });
    await cms().create(ns, { metadata: { name: 'two-owners', ownerReferences: [ref(live), { apiVersion: 'v1', kind: 'ConfigMap', name: 'ghost', uid: '00000000-0000-0000-0000-000000000003' }] } });
    // Deleting a live owner triggers the re-check; before that, dangling refs with a solid owner are left alone.
    const dying = await cms().create(ns, { metadata: { name: 'dying' } });
    await cms().patch(ns, 'two-owners', 'merge', { metadata: { ownerReferences: [ref(live), ref(dying)] } });
    await cms().delete(ns, 'dying');
    await env.eventually(async () => {
      const o = await cms().get(ns, 'two-owners');
      return o.metadata.ownerReferences?.length === 1 && o.metadata.ownerReferences[0]!.uid === live.metadata.uid;
    }, 10_000, 'dangling reference removed');
  });

  test('an owner in another namespace does not count: the dependent is deleted and a warning recorded', async () => {
    const nsA = await freshNamespace();
    const nsB = await freshNamespace();
    const owner = await cms().create(nsB, { metadata: { name: 'elsewhere' } });
    await new Promise((r) => setTimeout(r, 100)); // let the informer observe the owner first
    await cms().create(nsA, { metadata: { name: 'cross', ownerReferences: [ref(owner)] } });
    await env.eventually(async () => gone(() => cms().get(nsA, 'cross')), 10_000, 'cross-namespace dependent deleted');
    await cms().get(nsB, 'elsewhere');
    const events = env.client.resource<Obj & { reason?: string; message?: string; involvedObject?: { name?: string } }>('v1', 'Event');
    const ev = await env.eventually(async () => (await events.list(nsA)).items.find((e) => e.reason === 'OwnerRefInvalidNamespace'), 10_000, 'OwnerRefInvalidNamespace event');
    assert.equal(ev.involvedObject?.name, 'cross');
    assert.match(ev.message ?? '', /does not exist in namespace/);
  });

  test('Foreground cascades through a chain: grandchildren go before the child, the child before the owner', async () => {
    const ns = await freshNamespace();
    const owner = await cms().create(ns, { metadata: { name: 'top' } });
    const mid = await cms().create(ns, { metadata: { name: 'mid', ownerReferences: [ref(owner, { blockOwnerDeletion: true })] } });
    await cms().create(ns, { metadata: { name: 'leaf', finalizers: ['example.com/hold'], ownerReferences: [ref(mid, { blockOwnerDeletion: true })] } });
    await cms().delete(ns, 'top', { propagationPolicy: 'Foreground' });
    // The child is deleted in the foreground too and waits for the leaf; the owner waits for the child.
    await env.eventually(async () => (await cms().get(ns, 'mid')).metadata.finalizers?.includes('foregroundDeletion'), 10_000, 'child deleting in the foreground');
    await env.eventually(async () => Boolean((await cms().get(ns, 'leaf')).metadata.deletionTimestamp), 10_000, 'leaf marked');
    assert.ok((await cms().get(ns, 'top')).metadata.deletionTimestamp);
    await cms().patch(ns, 'leaf', 'merge', { metadata: { finalizers: null } });
    await env.eventually(async () => (await gone(() => cms().get(ns, 'top'))) && (await gone(() => cms().get(ns, 'mid'))) && (await gone(() => cms().get(ns, 'leaf'))), 10_000, 'chain deleted');
  });

  test('a cluster-scoped owner (Namespace) owns objects in any namespace', async () => {
    const ns = await freshNamespace();
    const ownerNs = await env.client.resource<Obj>('v1', 'Namespace').create(undefined, { metadata: { name: `owner-${ns}` } });
    await cms().create(ns, { metadata: { name: 'by-ns', ownerReferences: [{ apiVersion: 'v1', kind: 'Namespace', name: ownerNs.metadata.name, uid: ownerNs.metadata.uid }] } });
    await new Promise((r) => setTimeout(r, 300));
    await cms().get(ns, 'by-ns');
  });
});
