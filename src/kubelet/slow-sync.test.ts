import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { recordingLogger } from '../client/log.js';
import { startKubeletTestEnv, type KubeletTestEnv } from './testing.js';

// A pod sync that runs longer than `slowSyncMs` is reported once, with the step it reached: a sync that never ended
// would otherwise hold back every later kick of its worker (probe results, pod updates) without a trace. Here the
// slow sync is a legitimate one: the deletion of a container that ignores SIGTERM waits out its grace period.
const SLOW_MS = 300;
const log = recordingLogger();
let k: KubeletTestEnv;
before(async () => {
  k = await startKubeletTestEnv({ slowSyncMs: SLOW_MS, log });
});
after(async () => {
  await k?.close();
});

test('a pod sync running past slowSyncMs is reported once with its step', async () => {
  await k.createPod({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'stubborn', namespace: 'default' },
    spec: { terminationGracePeriodSeconds: 2, containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'trap "" TERM; while :; do sleep 0.1; done'] }] },
  });
  await k.env.eventually(async () => (await k.getPod('stubborn')).status?.phase === 'Running', 10_000, 'stubborn Running');
  const slow = () => log.records
    .filter((r) => r.level === 'warn' && r.msg === 'pod sync still running')
    .map((r) => r.obj as Record<string, unknown>)
    .filter((o) => o.pod === 'default/stubborn');
  assert.deepEqual(slow(), [], 'the start of the pod was not slow');

  await k.env.client.resource<Pod>('v1', 'Pod').delete('default', 'stubborn');
  // The kill waits the 2 s grace period out: the sync is reported after SLOW_MS, once.
  await k.env.eventually(async () => slow().length > 0, 5_000, 'slow sync reported');
  await k.waitPodGone('stubborn');
  const reports = slow();
  assert.equal(reports.length, 1, JSON.stringify(reports));
  assert.equal(reports[0]!.stage, 'sync');
  assert.equal(reports[0]!.seconds, SLOW_MS / 1000);
});
