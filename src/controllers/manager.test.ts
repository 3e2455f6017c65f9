import { test } from 'node:test';
import assert from 'node:assert/strict';
import { controllerFor } from '../client/controller.js';
import type { MetaObject } from '../client/cache.js';
import { startControllerTestEnv } from './testing.js';
import type { ControllerDefinition } from './types.js';

/** A minimal level-triggered controller: mirrors each ConfigMap's `data.v` into a `seen` annotation. */
const mirror: ControllerDefinition = {
  name: 'mirror',
  setup(ctx) {
    const cms = ctx.informers.for<{ metadata?: MetaObject['metadata'] & { annotations?: Record<string, string> }; data?: Record<string, string> }>('v1', 'ConfigMap');
    const cmClient = ctx.client.resource('v1', 'ConfigMap');
    return controllerFor(cms, { name: 'mirror', logger: ctx.logger('mirror') }).complete({
      async reconcile(key) {
        const cm = cms.lister.get(key.namespace, key.name);
        if (!cm) return;
        const want = cm.data?.v ?? '';
        if (cm.metadata?.annotations?.seen === want) return;
        await cmClient.patch(key.namespace, key.name, 'merge', { metadata: { annotations: { seen: want } } });
      },
    });
  },
};

test('the manager runs controllers on shared informers against a real apiserver', async () => {
  const env = await startControllerTestEnv();
  try {
    await env.run([mirror]);
    const cms = env.client.resource<{ metadata: { name: string; annotations?: Record<string, string> }; data?: Record<string, string> }>('v1', 'ConfigMap');
    await cms.create('default', { metadata: { name: 'a' }, data: { v: '1' } } as never);
    await env.eventually(async () => (await cms.get('default', 'a')).metadata.annotations?.seen === '1', 10_000, 'annotation 1');
    await cms.patch('default', 'a', 'merge', { data: { v: '2' } });
    await env.eventually(async () => (await cms.get('default', 'a')).metadata.annotations?.seen === '2', 10_000, 'annotation 2');
    assert.ok(env.manager!.isLeader());
  } finally {
    await env.close();
  }
});
