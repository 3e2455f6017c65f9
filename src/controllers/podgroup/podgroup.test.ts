import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startControllerTestEnv } from '../testing.js';
import { definition } from './index.js';

test('PodGroup status follows its members: PreScheduling → Scheduled → Running', async () => {
  const env = await startControllerTestEnv();
  try {
    await env.run([definition]);
    const pgs = env.client.resource<{ metadata: { name: string }; spec?: unknown; status?: { phase?: string; scheduled?: number; running?: number } }>('scheduling.x-k8s.io/v1alpha1', 'PodGroup');
    const pods = env.client.resource<any>('v1', 'Pod'); // eslint-disable-line @typescript-eslint/no-explicit-any
    await pgs.create('default', { metadata: { name: 'gang' }, spec: { minMember: 2 } });
    for (const n of ['a', 'b']) {
      await pods.create('default', { metadata: { name: n, labels: { 'scheduling.x-k8s.io/pod-group': 'gang' } }, spec: { containers: [{ name: 'c', image: 'x' }] } });
    }
    await env.eventually(async () => (await pgs.get('default', 'gang')).status?.phase === 'PreScheduling', 10_000, 'PreScheduling');
    await env.client.resource('v1', 'Node').create(undefined, { metadata: { name: 'n1' } } as never);
    for (const n of ['a', 'b']) {
      await pods.createSubresource('default', n, 'binding', { apiVersion: 'v1', kind: 'Binding', metadata: { name: n }, target: { kind: 'Node', name: 'n1' } });
    }
    await env.eventually(async () => (await pgs.get('default', 'gang')).status?.phase === 'Scheduled', 10_000, 'Scheduled');
    for (const n of ['a', 'b']) {
      await pods.patch('default', n, 'merge', { status: { phase: 'Running' } }, { subresource: 'status' });
    }
    const st = await env.eventually(async () => { const s = (await pgs.get('default', 'gang')).status; return s?.phase === 'Running' && s; }, 10_000, 'Running');
    assert.equal(st.scheduled, 2);
    assert.equal(st.running, 2);
  } finally {
    await env.close();
  }
});
