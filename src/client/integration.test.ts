/**
 * The client library against the real Skiff apiserver (in-process, memory datastore, HTTPS with the generated PKI
 * and admin kubeconfig): CRUD, patch types, paging, errors, an informer through a watch, events and a Lease.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ConfigMap } from 'kubernetes-types/core/v1.js';
import { startServer, type RunningServer } from '../server/server.js';
import { ApiError } from '../api/errors.js';
import { loadKubeconfig } from './config.js';
import { DynamicClient } from './dynamic.js';
import { EventRecorder, type CoreEvent } from './events.js';
import { Informer } from './informer.js';
import { LeaderElector, type Lease } from './leader-election.js';
import { recordingLogger } from './log.js';

type CM = ConfigMap & { metadata: NonNullable<ConfigMap['metadata']> };

let srv: RunningServer;
let client: DynamicClient;
before(async () => {
  srv = await startServer({ dataDir: mkdtempSync(join(tmpdir(), 'skiff-client-it-')), httpsPort: 0, datastore: 'memory://', disableAgent: true, logLevel: 'silent' });
  client = new DynamicClient(loadKubeconfig(srv.kubeconfigPath), { rateLimit: false });
});
after(async () => {
  client?.close();
  await srv?.close();
});

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('CRUD, patches, paging and errors against the real apiserver', async () => {
  const cms = client.resource<CM>('v1', 'ConfigMap');
  for (let i = 0; i < 5; i++) await cms.create('default', { metadata: { name: `it-${i}`, labels: { it: 'yes' } }, data: { i: String(i) } });
  const all = await cms.listAll('default', { labelSelector: 'it=yes', limit: 2 });
  assert.deepEqual(all.items.map((c) => c.metadata.name), ['it-0', 'it-1', 'it-2', 'it-3', 'it-4']);
  await cms.patch('default', 'it-0', 'merge', { data: { m: '1' } });
  await cms.patch('default', 'it-0', 'strategic', { data: { s: '1' } });
  await cms.patch('default', 'it-0', 'json', [{ op: 'add', path: '/data/j', value: '1' }]);
  const got = await cms.get('default', 'it-0');
  assert.deepEqual(got.data, { i: '0', m: '1', s: '1', j: '1' });
  await assert.rejects(cms.get('default', 'nope'), (e) => e instanceof ApiError && e.code === 404 && e.reason === 'NotFound');
  await assert.rejects(cms.create('default', { metadata: { name: 'it-0' } }), (e) => e instanceof ApiError && e.reason === 'AlreadyExists');
  await assert.rejects(cms.update('default', { ...got, metadata: { ...got.metadata, resourceVersion: '1' } }), (e) => e instanceof ApiError && e.reason === 'Conflict');
  await cms.delete('default', 'it-4');
});

test('an informer syncs and follows watch events', async () => {
  const logger = recordingLogger();
  const inf = new Informer<CM>(client.resource<CM>('v1', 'ConfigMap'), { namespace: 'default', logger });
  const seen: string[] = [];
  inf.addEventHandler({ onAdd: (o) => seen.push(`add ${o.metadata.name}`), onDelete: (o) => seen.push(`delete ${o.metadata.name}`) });
  inf.start();
  assert.equal(await inf.waitForSync(), true);
  const cms = client.resource<CM>('v1', 'ConfigMap');
  await cms.create('default', { metadata: { name: 'watched' } });
  await cms.delete('default', 'watched');
  await until(() => seen.includes('delete watched'), 'watch events');
  assert.ok(seen.includes('add watched'));
  await inf.stop();
  assert.deepEqual(logger.records.filter((r) => r.level !== 'info'), []);
});

test('events aggregate and a lease is acquired', async () => {
  const cm = await client.resource<CM>('v1', 'ConfigMap').create('default', { metadata: { name: 'ev-target' } });
  const rec = new EventRecorder(client, { component: 'it', logger: recordingLogger() });
  rec.event(cm, 'Normal', 'Tested', 'hello');
  rec.event(cm, 'Normal', 'Tested', 'hello');
  await rec.close();
  const evs = (await client.resource<CoreEvent>('v1', 'Event').list('default')).items.filter((e) => e.involvedObject.name === 'ev-target');
  assert.equal(evs.length, 1);
  assert.equal(evs[0]!.count, 2);

  let led = false;
  const el = new LeaderElector(client, {
    namespace: 'kube-system', name: 'it-lease', identity: 'me', logger: recordingLogger(),
    callbacks: { onStartedLeading: () => (led = true), onStoppedLeading: () => undefined },
  });
  void el.run();
  await until(() => led, 'leadership');
  const lease = await client.resource<Lease>('coordination.k8s.io/v1', 'Lease').get('kube-system', 'it-lease');
  assert.equal(lease.spec?.holderIdentity, 'me');
  await el.stop();
});
