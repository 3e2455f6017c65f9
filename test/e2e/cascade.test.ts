/**
 * Cascading deletion end to end: the real kubectl deletes namespaces and owners on a real `skiff server`, and the
 * garbage-collector, namespace and serviceaccount controllers do the rest.
 *
 * When the server process does not run the garbage collector itself (it adds the `foregroundDeletion` finalizer
 * only then), the controllers run in this test process against the server's kubeconfig, and the Foreground and
 * Orphan cases are SKIPPED: without the server's finalizers kubectl's --cascade=foreground|orphan cannot work.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DynamicClient } from '../../src/client/dynamic.js';
import { loadKubeconfig } from '../../src/client/config.js';
import { isNotFound } from '../../src/client/rest.js';
import type { Logger } from '../../src/client/log.js';
import { ControllerManager } from '../../src/controllers/manager.js';
import { definition as garbageCollector } from '../../src/controllers/garbage-collector/index.js';
import { definition as namespaceController } from '../../src/controllers/namespace/index.js';
import { definition as serviceAccounts } from '../../src/controllers/serviceaccount/index.js';
import { definition as ttlAfterFinished } from '../../src/controllers/ttl-after-finished/index.js';
import { cleanup, NO_KUBECTL, startServer, type TestServer } from './harness.js';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

interface Obj {
  metadata?: { name?: string; uid?: string; finalizers?: string[]; ownerReferences?: Array<{ uid?: string }> };
}

async function eventually<T>(fn: () => Promise<T | undefined | false>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Whether the server adds the foregroundDeletion finalizer, i.e. runs a garbage collector: a ConfigMap held by a
 * finalizer of ours is deleted with Foreground propagation and read back.
 */
async function serverRunsGarbageCollector(client: DynamicClient): Promise<boolean> {
  const cms = client.resource<Obj>('v1', 'ConfigMap');
  await cms.create('default', { metadata: { name: 'gc-probe', finalizers: ['skiff.dev/probe'] } });
  await cms.delete('default', 'gc-probe', { propagationPolicy: 'Foreground' });
  const probed = await cms.get('default', 'gc-probe');
  await cms.patch('default', 'gc-probe', 'merge', { metadata: { finalizers: null } });
  return (probed.metadata?.finalizers ?? []).includes('foregroundDeletion');
}

const OWNER = `apiVersion: v1
kind: ConfigMap
metadata: {name: owner}
data: {role: owner}
`;

function dependents(uid: string): string {
  const ref = `[{apiVersion: v1, kind: ConfigMap, name: owner, uid: ${uid}, blockOwnerDeletion: true}]`;
  return `apiVersion: v1
kind: ConfigMap
metadata:
  name: dep-cm
  ownerReferences: ${ref}
data: {role: dependent}
---
apiVersion: v1
kind: Pod
metadata:
  name: dep-pod
  ownerReferences: ${ref}
spec:
  containers: [{name: c, image: busybox}]
`;
}

describe('cascading deletion with kubectl', { skip: NO_KUBECTL }, () => {
  let s: TestServer;
  let client: DynamicClient;
  let manager: ControllerManager | undefined;
  let serverGC = false;

  before(async () => {
    s = await startServer();
    client = new DynamicClient(loadKubeconfig(s.kubeconfig), { rateLimit: false });
    serverGC = await serverRunsGarbageCollector(client);
    if (!serverGC) {
      console.warn('cascade e2e: skiff server does not run the garbage collector; running the controllers in the test process, Foreground/Orphan cases SKIPPED');
      manager = new ControllerManager({
        client, controllers: [garbageCollector, namespaceController, serviceAccounts, ttlAfterFinished], leaderElection: false, logger: () => quiet,
      });
      manager.start();
    }
  });
  after(async () => {
    await manager?.stop();
    client?.close();
    await cleanup(s);
  });

  async function absent(ns: string, kind: 'ConfigMap' | 'Pod', name: string): Promise<boolean> {
    try {
      await client.resource<Obj>('v1', kind).get(ns, name);
      return false;
    } catch (e) {
      if (isNotFound(e)) return true;
      throw e;
    }
  }

  /** Creates namespace `ns` with an owner ConfigMap and its two dependents, all through kubectl apply. */
  async function family(ns: string): Promise<void> {
    await s.k(['create', 'namespace', ns]);
    await s.k(['apply', '-n', ns, '-f', '-'], { input: OWNER });
    const uid = (await s.k(['get', 'configmap', 'owner', '-n', ns, '-o', 'jsonpath={.metadata.uid}'])).trim();
    assert.match(uid, /^[0-9a-f-]{36}$/);
    await s.k(['apply', '-n', ns, '-f', '-'], { input: dependents(uid) });
  }

  test('kubectl delete namespace removes its content and then the namespace', async () => {
    await s.k(['create', 'namespace', 'doomed']);
    // The serviceaccount controller gives every new namespace its default ServiceAccount.
    await eventually(async () => (await s.kubectl(['get', 'serviceaccount', 'default', '-n', 'doomed'])).code === 0, 10_000, 'default ServiceAccount');
    await s.k(['create', 'configmap', 'cm', '-n', 'doomed', '--from-literal=a=1']);
    await s.k(['create', 'secret', 'generic', 's', '-n', 'doomed', '--from-literal=a=1']);
    await s.k(['create', 'deployment', 'web', '-n', 'doomed', '--image=nginx']);
    await s.k(['run', 'p', '-n', 'doomed', '--image=busybox', '--restart=Never']);
    // kubectl waits until the namespace is gone.
    await s.k(['delete', 'namespace', 'doomed', '--timeout=30s']);
    const r = await s.kubectl(['get', 'namespace', 'doomed']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /NotFound|not found/);
    const leftovers = await s.kubectl(['get', 'configmaps,secrets,pods,deployments', '-n', 'doomed', '-o', 'name']);
    assert.equal(leftovers.stdout.trim(), '');
  });

  test('kubectl delete --cascade=background deletes the dependents after the owner', async () => {
    await family('bg');
    await s.k(['delete', 'configmap', 'owner', '-n', 'bg', '--cascade=background']);
    await eventually(async () => (await absent('bg', 'ConfigMap', 'dep-cm')) && (await absent('bg', 'Pod', 'dep-pod')), 15_000, 'dependents deleted');
  });

  test('kubectl delete --cascade=foreground deletes the dependents before the owner', async (t) => {
    if (!serverGC) {
      t.skip('SKIPPED: skiff server does not run the garbage collector, so it adds no foregroundDeletion finalizer');
      return;
    }
    await family('fg');
    // kubectl waits for the owner, which goes only after its blocking dependents.
    await s.k(['delete', 'configmap', 'owner', '-n', 'fg', '--cascade=foreground', '--timeout=30s']);
    assert.ok(await absent('fg', 'ConfigMap', 'dep-cm'));
    assert.ok(await absent('fg', 'Pod', 'dep-pod'));
    assert.ok(await absent('fg', 'ConfigMap', 'owner'));
  });

  test('kubectl delete --cascade=orphan leaves the dependents without the owner reference', async (t) => {
    if (!serverGC) {
      t.skip('SKIPPED: skiff server does not run the garbage collector, so it adds no orphan finalizer');
      return;
    }
    await family('orph');
    await s.k(['delete', 'configmap', 'owner', '-n', 'orph', '--cascade=orphan', '--timeout=30s']);
    assert.ok(await absent('orph', 'ConfigMap', 'owner'));
    const refs = (await s.k(['get', 'configmap/dep-cm', 'pod/dep-pod', '-n', 'orph', '-o', 'jsonpath={.items[*].metadata.ownerReferences}'])).trim();
    assert.equal(refs, '');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await absent('orph', 'ConfigMap', 'dep-cm'), false);
    assert.equal(await absent('orph', 'Pod', 'dep-pod'), false);
  });
});
