/**
 * GPUs end to end with the real kubectl: `skiff server --fake-gpus 2` with its in-process agent. Two pods asking
 * for one `nvidia.com/gpu` each run with different devices (their container logs on the node show
 * `$CUDA_VISIBLE_DEVICES`, the agent's device checkpoint names both); `kubectl describe node` shows both allocated;
 * a third pod stays Pending with the scheduler's upstream FailedScheduling message until one of the first two is
 * deleted, and then runs on the freed device.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, NO_KUBECTL, startServer, until as untilHarness, type TestServer } from './harness.js';

let s: TestServer | undefined;

before(async () => {
  if (NO_KUBECTL) return;
  s = await startServer({ withAgent: true, extraArgs: ['--fake-gpus', '2'] });
});

after(async () => {
  if (!s) return;
  // Stop the pods first: the agent leaves running containers for the next agent to adopt.
  await s.kubectl(['delete', 'pods', '--all', '--grace-period=1', '--wait=true', '--timeout=20s']);
  await s.stop('SIGTERM');
  await cleanup(s);
});

const manifest = (name: string) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: cuda
    image: busybox
    command: [sh, -c, 'echo $CUDA_VISIBLE_DEVICES; sleep 30']
    resources:
      limits:
        nvidia.com/gpu: 1
`;

const until = <T>(what: string, fn: () => Promise<T | false | undefined>, timeoutMs = 20_000) => untilHarness(what, fn, timeoutMs, { intervalMs: 200 });

const phase = async (name: string) => (await s!.k(['get', 'pod', name, '-o', 'jsonpath={.status.phase}'])).trim();

/** The device index the pod's container printed, read from its log file on the node (`kubectl logs` stand-in). */
async function deviceOf(name: string): Promise<string> {
  const uid = (await s!.k(['get', 'pod', name, '-o', 'jsonpath={.metadata.uid}'])).trim();
  const file = join(s!.dataDir, 'agent', 'logs', 'pods', `default_${name}_${uid}`, 'cuda', '0.log');
  return until(`${name}'s log`, async () => (existsSync(file) ? /stdout F (\d+)/.exec(readFileSync(file, 'utf8'))?.[1] : undefined));
}

test('two fake-GPU pods get different devices, a third waits until one is deleted', { skip: NO_KUBECTL }, async () => {
  await until('the node advertising 2 GPUs', async () =>
    (await s!.k(['get', 'nodes', '-o', 'jsonpath={.items[0].status.allocatable.nvidia\\.com/gpu}'])).trim() === '2');
  await s!.k(['apply', '-f', '-'], { input: `${manifest('gpu-a')}---\n${manifest('gpu-b')}` });
  await until('gpu-a and gpu-b Running', async () => (await phase('gpu-a')) === 'Running' && (await phase('gpu-b')) === 'Running');
  const [a, b] = [await deviceOf('gpu-a'), await deviceOf('gpu-b')];
  assert.deepEqual([a, b].sort(), ['0', '1']);
  const dir = join(s!.dataDir, 'agent', 'device-plugins');
  assert.ok(readdirSync(dir).includes('kubelet_internal_checkpoint'));
  const cp = JSON.parse(readFileSync(join(dir, 'kubelet_internal_checkpoint'), 'utf8'));
  assert.deepEqual(cp.Data.PodDeviceEntries.map((e: { DeviceIDs: string[] }) => e.DeviceIDs[0]).sort(), ['GPU-fake-0', 'GPU-fake-1']);

  const node = await s!.k(['describe', 'node']);
  assert.match(node, /nvidia\.com\/gpu\s+2\s+2/, 'describe node: both GPUs allocated (requests, limits)');

  await s!.k(['apply', '-f', '-'], { input: manifest('gpu-c') });
  const described = await until('FailedScheduling on gpu-c', async () => {
    const out = await s!.k(['describe', 'pod', 'gpu-c']);
    return /FailedScheduling/.test(out) && out;
  });
  assert.match(described, /0\/1 nodes are available: 1 Insufficient nvidia\.com\/gpu\./);
  assert.match(await phase('gpu-c'), /^(Pending)?$/);
  assert.equal((await s!.k(['get', 'pod', 'gpu-c', '-o', 'jsonpath={.spec.nodeName}'])).trim(), '');

  await s!.k(['delete', 'pod', 'gpu-a', '--grace-period=1']);
  await until('gpu-c Running', async () => (await phase('gpu-c')) === 'Running');
  assert.equal(await deviceOf('gpu-c'), a, 'gpu-c got the device gpu-a gave back');
});
