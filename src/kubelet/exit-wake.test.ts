import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { startKubeletTestEnv, type KubeletTestEnv } from './testing.js';

// The runtime tells the kubelet when a container exits (inotify on its exit record), so the kubelet's relist runs at
// once instead of on its period. With a relist period of an hour, a pod whose init containers and main container
// exit can only finish through those wake-ups.
let k: KubeletTestEnv;
before(async () => {
  k = await startKubeletTestEnv({ relistMs: 3_600_000, resyncMs: 3_600_000 });
});
after(async () => {
  await k?.close();
});

test('container exits wake the kubelet without waiting for the relist period (init containers run one after another)', async () => {
  assert.equal(typeof k.runtime.onContainerExit, 'function');
  await k.createPod({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'exits', namespace: 'default' },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 1,
      initContainers: [
        { name: 'a', image: 'busybox', command: ['true'] },
        { name: 'b', image: 'busybox', command: ['true'] },
      ],
      containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', 'exit 3'] }],
    },
  });
  const p = await k.env.eventually(async () => {
    const p: Pod = await k.getPod('exits');
    return p.status?.phase === 'Failed' && p;
  }, 15_000, 'pod Failed through exit wake-ups (the relist period is an hour)');
  assert.deepEqual(p.status!.initContainerStatuses!.map((s) => s.state?.terminated?.reason), ['Completed', 'Completed']);
  assert.equal(p.status!.containerStatuses![0]!.state?.terminated?.exitCode, 3);
});
