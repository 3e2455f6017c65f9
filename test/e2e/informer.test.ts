/**
 * `@kubernetes/client-node` (1.4) works unmodified: CRUD through the typed API, and an informer that keeps working
 * across a store compaction (its watch gets 410 Expired, it re-lists and resumes, missing nothing).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { execFileSync } from 'node:child_process';
import { cleanup, SKIFF_BIN, startServer, TestServer } from './harness.js';

let s: TestServer;
before(async () => { s = await startServer({ datastore: 'sqlite://' }); });
after(async () => { await cleanup(s); });

function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (cond()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 50);
    };
    tick();
  });
}

test('client-node CRUD and an informer that survives compaction (410 → relist)', async () => {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(s.kubeconfig);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'inf-0' }, data: { a: '1' } } });
  const got = await core.readNamespacedConfigMap({ namespace: 'default', name: 'inf-0' });
  assert.equal(got.data?.a, '1');

  const seen = new Map<string, string>();
  const errors: unknown[] = [];
  const informer = k8s.makeInformer(kc, '/api/v1/namespaces/default/configmaps', () => core.listNamespacedConfigMap({ namespace: 'default' }));
  informer.on('add', (o) => seen.set(o.metadata!.name!, o.metadata!.resourceVersion!));
  informer.on('update', (o) => seen.set(o.metadata!.name!, o.metadata!.resourceVersion!));
  informer.on('delete', (o) => seen.delete(o.metadata!.name!));
  informer.on('error', (e) => { errors.push(e); });
  await informer.start();
  await waitFor(() => seen.has('inf-0'), 5000, 'initial list');

  for (let i = 1; i <= 5; i++) await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: `inf-${i}` } } });
  await waitFor(() => seen.has('inf-5'), 5000, 'watch events');
  // The informer pauses; meanwhile objects change, the server stops, and its store is compacted to the newest
  // revision (`skiff compact`), so the informer's resourceVersion is gone when it resumes: 410 → relist.
  await informer.stop();
  await core.deleteNamespacedConfigMap({ namespace: 'default', name: 'inf-1' });
  await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'after-compaction' } } });
  assert.equal(await s.stop('SIGTERM'), 0);
  const out = execFileSync(process.execPath, [SKIFF_BIN, 'compact', '--data-dir', s.dataDir], { encoding: 'utf8' });
  assert.match(out, /compacted at revision \d+/);
  await s.restart();
  const errorsBefore = errors.length;
  await informer.start();
  await waitFor(() => seen.has('after-compaction') && !seen.has('inf-1'), 15000, 'informer to recover after compaction');
  assert.equal(errors.length, errorsBefore, `informer errors: ${errors.map(String).join('; ')}`);
  // And it keeps streaming afterwards.
  await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'later' } } });
  await waitFor(() => seen.has('later'), 5000, 'events after the relist');
  await informer.stop();
});
