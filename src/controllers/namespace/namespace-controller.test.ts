import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Namespace } from 'kubernetes-types/core/v1.js';
import { isNotFound } from '../../client/rest.js';
import { startControllerTestEnv, type ControllerTestEnv } from '../testing.js';
import { definition as gc } from '../garbage-collector/index.js';
import { CONDITION_TYPES, definition, namespacedDeletableResources } from './index.js';

interface Obj {
  metadata: { name: string; namespace?: string; finalizers?: string[]; deletionTimestamp?: string };
  [k: string]: unknown;
}

let env: ControllerTestEnv;
before(async () => {
  env = await startControllerTestEnv();
  env.server.core.opts.garbageCollectorEnabled = () => true;
  await env.run([definition, gc]);
});
after(async () => { await env.close(); });

const nsClient = () => env.client.resource<Namespace>('v1', 'Namespace');
const res = (apiVersion: string, kind: string) => env.client.resource<Obj>(apiVersion, kind);

async function gone(get: () => Promise<unknown>): Promise<boolean> {
  try {
    await get();
    return false;
  } catch (e) {
    if (isNotFound(e)) return true;
    throw e;
  }
}

const podSpec = { containers: [{ name: 'c', image: 'busybox' }] };

describe('namespace controller', () => {
  test('empties every namespaced kind once, one version per storage', () => {
    const rs = namespacedDeletableResources();
    assert.equal(rs.filter((r) => r.resource === 'events').length, 1);
    assert.equal(rs.filter((r) => r.resource === 'horizontalpodautoscalers').length, 1);
    assert.ok(rs.every((r) => r.namespaced));
    assert.ok(['pods', 'configmaps', 'secrets', 'deployments', 'services', 'leases'].every((n) => rs.some((r) => r.resource === n)));
  });

  test('deleting a namespace removes its configmaps, secrets, pods and deployments, then the namespace', async () => {
    await nsClient().create(undefined, { metadata: { name: 'doomed' } });
    await nsClient().create(undefined, { metadata: { name: 'bystander' } });
    for (const ns of ['doomed', 'bystander']) {
      await res('v1', 'ConfigMap').create(ns, { metadata: { name: 'cm' }, data: { a: '1' } });
      await res('v1', 'Secret').create(ns, { metadata: { name: 's' }, stringData: { a: '1' } });
      await res('v1', 'Pod').create(ns, { metadata: { name: 'p' }, spec: podSpec });
      await res('apps/v1', 'Deployment').create(ns, {
        metadata: { name: 'd' },
        spec: { selector: { matchLabels: { app: 'd' } }, template: { metadata: { labels: { app: 'd' } }, spec: podSpec } },
      });
    }
    await nsClient().delete(undefined, 'doomed');
    await env.eventually(async () => gone(() => nsClient().get(undefined, 'doomed')), 15_000, 'namespace removed');
    // Everything inside went first; the other namespace is untouched.
    for (const [v, k] of [['v1', 'ConfigMap'], ['v1', 'Secret'], ['v1', 'Pod'], ['apps/v1', 'Deployment']] as const) {
      assert.equal((await res(v, k).list('doomed')).items.length, 0, `${k} left in doomed`);
      assert.equal((await res(v, k).list('bystander')).items.length, 1, `${k} kept in bystander`);
    }
  });

  test('an object with a custom finalizer keeps the namespace Terminating until it is removed', async () => {
    await nsClient().create(undefined, { metadata: { name: 'held' } });
    await res('v1', 'ConfigMap').create('held', { metadata: { name: 'keep', finalizers: ['example.com/hold'] } });
    await res('v1', 'ConfigMap').create('held', { metadata: { name: 'plain' } });
    await nsClient().delete(undefined, 'held');
    const ns = await env.eventually(async () => {
      const n = await nsClient().get(undefined, 'held');
      const c = n.status?.conditions?.find((x) => x.type === 'NamespaceFinalizersRemaining');
      return c?.status === 'True' ? n : undefined;
    }, 10_000, 'finalizer condition');
    assert.equal(ns.status?.phase, 'Terminating');
    const byType = new Map((ns.status?.conditions ?? []).map((c) => [c.type, c]));
    assert.deepEqual([...byType.keys()].sort(), [...CONDITION_TYPES].sort());
    assert.equal(byType.get('NamespaceFinalizersRemaining')!.reason, 'SomeFinalizersRemain');
    assert.equal(byType.get('NamespaceFinalizersRemaining')!.message, 'Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances');
    assert.equal(byType.get('NamespaceContentRemaining')!.status, 'True');
    assert.equal(byType.get('NamespaceContentRemaining')!.message, 'Some resources are remaining: configmaps. has 1 resource instances');
    assert.equal(byType.get('NamespaceDeletionContentFailure')!.status, 'False');
    assert.equal(byType.get('NamespaceDeletionContentFailure')!.reason, 'ContentDeleted');
    assert.ok(await gone(() => res('v1', 'ConfigMap').get('held', 'plain')));
    const kept = await res('v1', 'ConfigMap').get('held', 'keep');
    assert.ok(kept.metadata.deletionTimestamp);
    // Still there a moment later.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await nsClient().get(undefined, 'held')).status?.phase, 'Terminating');
    // New content is refused while terminating (apiserver admission), and removing the finalizer ends it quickly.
    await res('v1', 'ConfigMap').patch('held', 'keep', 'merge', { metadata: { finalizers: null } });
    const t0 = Date.now();
    await env.eventually(async () => gone(() => nsClient().get(undefined, 'held')), 10_000, 'namespace removed after finalizer');
    assert.ok(Date.now() - t0 < 5_000, 'the finalizer removal re-checks the namespace without waiting for the 8 s requeue');
  });

  test('a namespace that is not being deleted is left alone', async () => {
    await nsClient().create(undefined, { metadata: { name: 'alive' } });
    await res('v1', 'ConfigMap').create('alive', { metadata: { name: 'cm' } });
    await new Promise((r) => setTimeout(r, 200));
    const n = await nsClient().get(undefined, 'alive');
    assert.equal(n.status?.phase, 'Active');
    assert.equal(n.status?.conditions, undefined);
    await res('v1', 'ConfigMap').get('alive', 'cm');
  });
});
