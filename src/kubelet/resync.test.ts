import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigMap, Pod } from 'kubernetes-types/core/v1.js';
import { startKubeletTestEnv, type KubeletTestEnv } from './testing.js';

// The periodic pod resync (upstream syncFrequency, 1 min) with a short injected period: configMap volume contents
// follow a change without any pod update, and a resync that finds nothing changed writes nothing.
const RESYNC_MS = 300;
let k: KubeletTestEnv;
before(async () => {
  k = await startKubeletTestEnv({ resyncMs: RESYNC_MS });
});
after(async () => {
  await k?.close();
});

test('periodic resync refreshes configMap volume contents and writes no status when nothing changed', async () => {
  const cms = k.env.client.resource<ConfigMap>('v1', 'ConfigMap');
  await cms.create('default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'resync-cfg' }, data: { greeting: 'v1' } });
  await k.createPod({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'resync', namespace: 'default' },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'c', image: 'busybox', command: ['sleep', '30'], volumeMounts: [{ name: 'cfg', mountPath: '/cfg' }] }],
      volumes: [{ name: 'cfg', configMap: { name: 'resync-cfg' } }],
    },
  });
  const running = await k.env.eventually(async () => {
    const p = await k.getPod('resync');
    return p.status?.phase === 'Running' && p.status.containerStatuses?.[0]?.ready === true && p;
  }, 10_000, 'resync Running');
  const file = join(k.dataDir, 'pods', running.metadata!.uid!, 'volumes', 'kubernetes.io~configmap', 'cfg', 'greeting');
  assert.equal(readFileSync(file, 'utf8'), 'v1');

  // Several resync periods with nothing changed: the pod object (its status) is not written again.
  await new Promise((r) => setTimeout(r, RESYNC_MS * 5));
  const same = await k.getPod('resync');
  assert.equal(same.metadata?.resourceVersion, running.metadata?.resourceVersion, 'no status write on an idle resync');

  // Nothing but the ConfigMap changes (no pod update, no container event): the next resync rewrites the file.
  const cm = await cms.get('default', 'resync-cfg');
  await cms.update('default', { ...cm, data: { greeting: 'v2' } });
  await k.env.eventually(async () => readFileSync(file, 'utf8') === 'v2', 10_000, 'configMap change in the volume');

  await k.env.client.resource<Pod>('v1', 'Pod').delete('default', 'resync');
  await k.waitPodGone('resync');
});
