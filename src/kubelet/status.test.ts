import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerStatus as ApiCS, Pod } from 'kubernetes-types/core/v1.js';
import { computePodStatus, getPhase, podQOS } from './status.js';
import { expand } from './env.js';
import { CrashBackoff, linuxResources } from './pod-worker.js';
import type { ContainerStatus } from './runtime/types.js';

const running: ApiCS = { name: 'c', image: '', imageID: '', restartCount: 0, ready: true, started: true, state: { running: {} } };
const exited = (code: number): ApiCS => ({ ...running, state: { terminated: { exitCode: code } } });
const crashLoop: ApiCS = { ...running, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1 } } };
const podOf = (restartPolicy: string, init = 0, sidecar = false): Pod => ({
  spec: {
    restartPolicy,
    containers: [{ name: 'c' }],
    initContainers: Array.from({ length: init }, () => ({ name: 'i', ...(sidecar ? { restartPolicy: 'Always' } : {}) })),
  },
});

test('getPhase follows upstream', () => {
  const cases: Array<{ name: string; pod: Pod; init?: ApiCS[]; ctrs: ApiCS[]; terminal?: boolean; want: string }> = [
    { name: 'no status yet', pod: podOf('Always'), ctrs: [], want: 'Pending' },
    { name: 'running', pod: podOf('Always'), ctrs: [running], want: 'Running' },
    { name: 'exited 0, Always', pod: podOf('Always'), ctrs: [exited(0)], want: 'Running' },
    { name: 'exited 0, Never', pod: podOf('Never'), ctrs: [exited(0)], want: 'Succeeded' },
    { name: 'exited 1, Never', pod: podOf('Never'), ctrs: [exited(1)], want: 'Failed' },
    { name: 'exited 1, OnFailure', pod: podOf('OnFailure'), ctrs: [exited(1)], want: 'Running' },
    { name: 'crash loop', pod: podOf('Always'), ctrs: [{ ...crashLoop }], want: 'Running' },
    { name: 'waiting', pod: podOf('Always'), ctrs: [{ ...running, state: { waiting: { reason: 'ContainerCreating' } } }], want: 'Pending' },
    { name: 'init running', pod: podOf('Always', 1), init: [{ ...running, name: 'i' }], ctrs: [], want: 'Pending' },
    { name: 'init failed, Never', pod: podOf('Never', 1), init: [{ ...exited(1), name: 'i' }], ctrs: [], want: 'Failed' },
    { name: 'sidecar started', pod: podOf('Always', 1, true), init: [{ ...running, name: 'i' }], ctrs: [running], want: 'Running' },
    { name: 'terminal after deletion', pod: podOf('Always'), ctrs: [exited(137)], terminal: true, want: 'Failed' },
  ];
  for (const c of cases) assert.equal(getPhase(c.pod, c.init ?? [], c.ctrs, !!c.terminal), c.want, c.name);
});

test('podQOS: BestEffort, Burstable, Guaranteed', () => {
  const p = (resources: object): Pod => ({ spec: { containers: [{ name: 'c', resources }] } });
  assert.equal(podQOS(p({})), 'BestEffort');
  assert.equal(podQOS(p({ requests: { cpu: '100m' } })), 'Burstable');
  assert.equal(podQOS(p({ limits: { cpu: '1', memory: '1Gi' } })), 'Guaranteed');
  assert.equal(podQOS(p({ limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '500m' } })), 'Burstable');
});

test('$(VAR) expansion as upstream', () => {
  const env: Record<string, string> = { A: 'x', B: 'y' };
  const l = (n: string) => env[n];
  assert.equal(expand('$(A)-$(B)', l), 'x-y');
  assert.equal(expand('$(MISSING)', l), '$(MISSING)');
  assert.equal(expand('$$(A)', l), '$(A)');
  assert.equal(expand('a$b', l), 'a$b');
  assert.equal(expand('$(A', l), '$(A');
});

test('CrashBackoff doubles from base to max and resets after a quiet period', () => {
  const b = new CrashBackoff(10, 40);
  assert.equal(b.remaining('k', 0, 0), 0);
  b.next('k', 0);
  assert.equal(b.remaining('k', 1, 1), 10);
  b.next('k', 20);
  assert.equal(b.delay('k'), 20);
  b.next('k', 50);
  b.next('k', 100);
  assert.equal(b.delay('k'), 40);
  assert.equal(b.remaining('k', 1000, 1000), 0);
});

test('linuxResources: cpu limit → quota/period, request → shares, memory limit', () => {
  const r = linuxResources({ name: 'c', resources: { limits: { cpu: '500m', memory: '64Mi' }, requests: { cpu: '250m' } } });
  assert.deepEqual(r, { cpuShares: 256, cpuPeriod: 100_000, cpuQuota: 50_000, memoryLimitInBytes: 64 * 1024 * 1024 });
});

test('computePodStatus: conditions, waiting reasons and lastTransitionTime kept', () => {
  const pod: Pod = { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
  const cur: ContainerStatus = {
    id: 'abc', podSandboxId: 's', metadata: { name: 'c', attempt: 2 }, state: 'CONTAINER_EXITED', createdAt: 1e15, startedAt: 1e15, finishedAt: 1e15 + 1e9,
    exitCode: 1, reason: 'Error', message: '', image: 'busybox', labels: {}, annotations: {}, mounts: [], logPath: '', pid: 0,
  };
  const st = computePodStatus(pod, {
    sandboxReady: true, podIP: '10.0.0.1', hostIP: '10.0.0.2', init: [],
    containers: [{ name: 'c', current: cur, restartCount: 2, waiting: { reason: 'CrashLoopBackOff', message: 'back-off' }, ready: false, started: false }],
  }, new Date('2024-01-01T00:00:00Z'));
  assert.equal(st.phase, 'Running');
  const cs = st.containerStatuses![0]!;
  assert.equal(cs.state?.waiting?.reason, 'CrashLoopBackOff');
  assert.equal(cs.lastState?.terminated?.exitCode, 1);
  assert.equal(cs.restartCount, 2);
  assert.equal(cs.containerID, 'skiff://abc');
  assert.equal(st.podIP, '10.0.0.1');
  assert.equal(st.conditions!.find((c) => c.type === 'Ready')?.status, 'False');
  const again = computePodStatus({ ...pod, status: st }, {
    sandboxReady: true, podIP: '10.0.0.1', hostIP: '10.0.0.2', init: [],
    containers: [{ name: 'c', current: cur, restartCount: 2, waiting: { reason: 'CrashLoopBackOff' }, ready: false, started: false }],
  }, new Date('2024-01-01T00:05:00Z'));
  assert.equal(again.conditions!.find((c) => c.type === 'Ready')?.lastTransitionTime, '2024-01-01T00:00:00Z');
});
