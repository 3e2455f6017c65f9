import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { startKubeletTestEnv, type KubeletTestEnv } from './testing.js';

let k: KubeletTestEnv;
before(async () => {
  k = await startKubeletTestEnv();
});
after(async () => {
  await k?.close();
});

const pod = (name: string, spec: Pod['spec']): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default' },
  spec: { terminationGracePeriodSeconds: 1, ...spec! },
});
const cond = (p: Pod, type: string) => p.status?.conditions?.find((c) => c.type === type)?.status;
const NODE = process.execPath;
const HTTP_SERVER = `require('http').createServer((q, r) => { r.statusCode = require('fs').existsSync('/tmp/unready-' + process.env.POD) ? 503 : 200; r.end('ok'); }).listen(8080, () => console.log('listening'))`;

test('readiness probes (exec and httpGet) flip Ready', async () => {
  await k.createPod(
    pod('ready', {
      containers: [
        {
          name: 'web',
          image: 'node',
          command: [NODE, '-e', HTTP_SERVER],
          env: [{ name: 'POD', value: 'ready' }],
          ports: [{ name: 'http', containerPort: 8080 }],
          readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 1 },
        },
        {
          name: 'side',
          image: 'busybox',
          command: ['sh', '-c', 'sleep 30'],
          readinessProbe: { exec: { command: ['sh', '-c', 'test ! -e /tmp/unready-exec-ready'] }, periodSeconds: 1 },
        },
      ],
    }),
  );
  await k.env.eventually(async () => cond(await k.getPod('ready'), 'Ready') === 'True', 30_000, 'Ready');
  const { writeFileSync, rmSync } = await import('node:fs');
  writeFileSync('/tmp/unready-exec-ready', '');
  try {
    const p = await k.env.eventually(async () => {
      const p = await k.getPod('ready');
      return cond(p, 'Ready') === 'False' && p;
    }, 30_000, 'exec readiness failure → not Ready');
    assert.match(p.status!.conditions!.find((c) => c.type === 'Ready')!.message!, /unready status: \[side\]/);
  } finally {
    rmSync('/tmp/unready-exec-ready', { force: true });
  }
  await k.env.eventually(async () => cond(await k.getPod('ready'), 'Ready') === 'True', 30_000, 'Ready again');
  writeFileSync('/tmp/unready-ready', '');
  try {
    const p = await k.env.eventually(async () => {
      const p = await k.getPod('ready');
      return cond(p, 'Ready') === 'False' && p;
    }, 30_000, 'http readiness failure → not Ready');
    assert.equal(p.status!.containerStatuses!.find((c) => c.name === 'web')!.ready, false);
    assert.equal(p.status!.containerStatuses!.find((c) => c.name === 'web')!.restartCount, 0);
  } finally {
    rmSync('/tmp/unready-ready', { force: true });
  }
  await k.env.client.resource('v1', 'Pod').delete('default', 'ready');
});

test('a failing liveness probe restarts the container', async () => {
  await k.createPod(
    pod('live', {
      containers: [
        {
          name: 'c',
          image: 'busybox',
          command: ['sh', '-c', 'sleep 60'],
          livenessProbe: { exec: { command: ['false'] }, periodSeconds: 1, failureThreshold: 1 },
        },
      ],
    }),
  );
  const p = await k.env.eventually(async () => {
    const p = await k.getPod('live');
    return (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1 && p;
  }, 15_000, 'liveness restart');
  assert.ok(p.status!.containerStatuses![0]!.lastState?.terminated);
  await k.env.client.resource('v1', 'Pod').delete('default', 'live');
});

test('a preStop hook runs before SIGTERM on deletion', async () => {
  await k.createPod(
    pod('prestop', {
      terminationGracePeriodSeconds: 5,
      containers: [
        {
          name: 'c',
          image: 'busybox',
          command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.1; done'],
          lifecycle: { preStop: { exec: { command: ['sh', '-c', 'echo stopped > /tmp/skiff-prestop-$PPID-marker; touch /tmp/skiff-prestop-ran'] } } },
        },
      ],
    }),
  );
  await k.env.eventually(async () => (await k.getPod('prestop')).status?.phase === 'Running', 10_000, 'Running');
  const { existsSync, rmSync } = await import('node:fs');
  rmSync('/tmp/skiff-prestop-ran', { force: true });
  await k.env.client.resource('v1', 'Pod').delete('default', 'prestop');
  await k.waitPodGone('prestop', 30_000);
  assert.ok(existsSync('/tmp/skiff-prestop-ran'));
  rmSync('/tmp/skiff-prestop-ran', { force: true });
});

test('a restarted kubelet adopts a running pod without restarting it', async () => {
  await k.createPod(pod('adopt', { containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'sleep 60'] }] }));
  const before = await k.env.eventually(async () => {
    const p = await k.getPod('adopt');
    return cond(p, 'Ready') === 'True' && p;
  }, 30_000, 'adopt Ready');
  const id = before.status!.containerStatuses![0]!.containerID;
  await k.agent.stop();
  // Meanwhile a pod is force-deleted: its containers are orphans the new agent must remove.
  await k.restartAgent();
  await new Promise((r) => setTimeout(r, 500));
  const p = await k.getPod('adopt');
  assert.equal(p.status!.containerStatuses![0]!.containerID, id);
  assert.equal(p.status!.containerStatuses![0]!.restartCount, 0);
  assert.equal(cond(p, 'Ready'), 'True');
  await k.env.client.resource('v1', 'Pod').delete('default', 'adopt');
  await k.waitPodGone('adopt', 30_000);
});

test('orphans of pods deleted while the agent was down are removed', async () => {
  await k.createPod(pod('orphan', { containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'sleep 60'] }] }));
  const p = await k.env.eventually(async () => {
    const p = await k.getPod('orphan');
    return p.status?.phase === 'Running' && p;
  }, 30_000, 'orphan Running');
  await k.agent.stop();
  await k.env.client.resource('v1', 'Pod').delete('default', 'orphan', { gracePeriodSeconds: 0 });
  await k.restartAgent();
  await k.env.eventually(
    async () => (await k.runtime.listContainers({ labelSelector: { 'io.kubernetes.pod.uid': p.metadata!.uid! } })).length === 0,
    10_000,
    'orphan containers removed',
  );
});

test('a memory hog is OOMKilled under its memory limit (root + memory cgroup)', async (t) => {
  if (!k.runtime.capabilities.cgroups || !k.runtime.capabilities.cgroupControllers.includes('memory')) {
    const why = `SKIPPED: needs root and a memory cgroup (${k.runtime.capabilities.notes.join('; ')})`;
    console.warn(why);
    t.skip(why);
    return;
  }
  await k.createPod(
    pod('oom', {
      restartPolicy: 'Never',
      containers: [
        {
          name: 'hog',
          image: 'node',
          command: [NODE, '-e', 'const a = []; for (;;) a.push(Buffer.alloc(1 << 20, 1));'],
          resources: { limits: { memory: '64Mi' } },
        },
      ],
    }),
  );
  const p = await k.env.eventually(async () => {
    const p = await k.getPod('oom');
    return p.status?.phase === 'Failed' && p;
  }, 15_000, 'oom Failed');
  const term = p.status!.containerStatuses![0]!.state!.terminated!;
  assert.equal(term.reason, 'OOMKilled');
  assert.equal(term.exitCode, 137);
  assert.equal(p.status?.qosClass, 'Burstable');
});

test('a sidecar (init container with restartPolicy Always) starts before the main container and keeps running', async () => {
  await k.createPod(
    pod('sidecar', {
      initContainers: [{ name: 'side', image: 'busybox', restartPolicy: 'Always', command: ['sh', '-c', 'sleep 60'] }],
      containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', 'sleep 60'] }],
    }),
  );
  const p = await k.env.eventually(async () => {
    const p = await k.getPod('sidecar');
    return cond(p, 'Ready') === 'True' && p;
  }, 30_000, 'sidecar pod Ready');
  assert.ok(p.status!.initContainerStatuses![0]!.state?.running);
  assert.equal(p.status!.initContainerStatuses![0]!.started, true);
  assert.equal(p.status?.phase, 'Running');
  assert.equal(cond(p, 'Initialized'), 'True');
  await k.env.client.resource('v1', 'Pod').delete('default', 'sidecar');
});
