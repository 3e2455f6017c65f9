import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Namespace, ServiceAccount } from 'kubernetes-types/core/v1.js';
import { startControllerTestEnv, type ControllerTestEnv } from '../testing.js';
import { definition } from './index.js';

describe('serviceaccount controller', () => {
  let env: ControllerTestEnv;
  before(async () => {
    env = await startControllerTestEnv();
    await env.run([definition]);
  });
  after(async () => { await env.close(); });

  const sas = () => env.client.resource<ServiceAccount>('v1', 'ServiceAccount');
  const nss = () => env.client.resource<Namespace>('v1', 'Namespace');
  const has = async (ns: string) => (await sas().list(ns)).items.some((s) => s.metadata?.name === 'default');

  test('the system namespaces and new namespaces get a default ServiceAccount', async () => {
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) await env.eventually(() => has(ns), 10_000, `default SA in ${ns}`);
    await nss().create(undefined, { metadata: { name: 'team-a' } });
    await env.eventually(() => has('team-a'), 10_000, 'default SA in team-a');
    assert.equal((await sas().list('team-a')).items.length, 1);
  });

  test('a deleted default ServiceAccount is re-created', async () => {
    await nss().create(undefined, { metadata: { name: 'team-b' } });
    await env.eventually(() => has('team-b'), 10_000, 'default SA in team-b');
    const before = await sas().get('team-b', 'default');
    await sas().delete('team-b', 'default');
    await env.eventually(async () => (await has('team-b')) && (await sas().get('team-b', 'default')).metadata?.uid !== before.metadata?.uid, 10_000, 're-created');
  });

  test('a terminating namespace gets none', async () => {
    await nss().create(undefined, { metadata: { name: 'team-c' } });
    await env.eventually(() => has('team-c'), 10_000, 'default SA in team-c');
    await nss().delete(undefined, 'team-c');
    await sas().delete('team-c', 'default');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await has('team-c'), false);
  });
});
