import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { startKubeletTestEnv, type KubeletTestEnv } from './testing.js';

let k: KubeletTestEnv;
before(async () => {
  k = await startKubeletTestEnv();
});
after(async () => {
  await k?.close();
});

const pod = (name: string, spec: Pod['spec'], labels?: Record<string, string>): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', ...(labels ? { labels } : {}) },
  spec: { terminationGracePeriodSeconds: 1, ...spec! },
});

const cond = (p: Pod, type: string) => p.status?.conditions?.find((c) => c.type === type)?.status;

test('the node registers with capacity, labels, conditions and a lease', async () => {
  const node = await k.env.client.resource<Node>('v1', 'Node').get(undefined, k.nodeName);
  assert.equal(node.metadata?.labels?.['kubernetes.io/hostname'], k.nodeName);
  assert.ok(node.metadata?.labels?.['kubernetes.io/arch']);
  assert.equal(node.status?.capacity?.pods, '110');
  assert.ok(Number(node.status?.capacity?.cpu) >= 1);
  assert.equal(node.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
  assert.equal(node.status?.nodeInfo?.kubeletVersion, 'v1.32.0-skiff');
  assert.equal(node.status?.nodeInfo?.containerRuntimeVersion, 'skiff-process://0.1');
  assert.ok(node.status?.addresses?.some((a) => a.type === 'InternalIP'));
  const lease = await k.env.client.resource('coordination.k8s.io/v1', 'Lease').get('kube-node-lease', k.nodeName);
  assert.equal((lease as unknown as { spec: { holderIdentity: string } }).spec.holderIdentity, k.nodeName);
});

test('a pod runs and becomes Ready; deletion stops it and removes the pod', async () => {
  await k.createPod(pod('hello', { containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'echo hi; sleep 30'] }] }));
  const p = await k.env.eventually(async () => {
    const p = await k.getPod('hello');
    return p.status?.phase === 'Running' && cond(p, 'Ready') === 'True' && p;
  }, 10_000, 'hello Running and Ready');
  const cs = p.status!.containerStatuses![0]!;
  assert.equal(cs.ready, true);
  assert.equal(cs.started, true);
  assert.equal(cs.restartCount, 0);
  assert.ok(cs.state?.running?.startedAt);
  assert.match(cs.containerID!, /^skiff:\/\//);
  assert.equal(p.status?.qosClass, 'BestEffort');
  assert.ok(p.status?.hostIP);
  assert.ok(p.status?.startTime);
  const [c] = await k.runtime.listContainers({ labelSelector: { 'io.kubernetes.pod.uid': p.metadata!.uid! } });
  // Running is reported once the process started; its first output may reach the log a moment later.
  await k.env.eventually(async () => /stdout F hi/.test(readFileSync(c!.logPath, 'utf8')), 5_000, 'hi in the log');
  await k.env.client.resource('v1', 'Pod').delete('default', 'hello');
  await k.waitPodGone('hello');
  await k.env.eventually(async () => (await k.runtime.listContainers({ labelSelector: { 'io.kubernetes.pod.uid': p.metadata!.uid! } })).length === 0, 5000, 'containers removed');
});

test('a failing container restarts with a rising restartCount and CrashLoopBackOff', async () => {
  await k.createPod(pod('crash', { containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'echo boom; exit 3'] }] }));
  const p = await k.env.eventually(async () => {
    const p = await k.getPod('crash');
    const cs = p.status?.containerStatuses?.[0];
    return cs && cs.restartCount! >= 2 && cs.state?.waiting?.reason === 'CrashLoopBackOff' && p;
  }, 15_000, 'CrashLoopBackOff');
  const cs = p.status!.containerStatuses![0]!;
  assert.equal(cs.lastState?.terminated?.exitCode, 3);
  assert.equal(cs.lastState?.terminated?.reason, 'Error');
  assert.match(cs.state!.waiting!.message!, /back-off .* restarting failed container=c pod=crash_default/);
  assert.equal(p.status?.phase, 'Running');
  await k.env.client.resource('v1', 'Pod').delete('default', 'crash');
});

test('init containers run in order, then the container; restartPolicy Never completes', async () => {
  await k.createPod(
    pod('init', {
      restartPolicy: 'Never',
      volumes: [{ name: 'work', emptyDir: {} }],
      initContainers: [
        { name: 'a', image: 'busybox', command: ['sh', '-c', 'echo a >> /work/order'], volumeMounts: [{ name: 'work', mountPath: '/work' }] },
        { name: 'b', image: 'busybox', command: ['sh', '-c', 'echo b >> /work/order'], volumeMounts: [{ name: 'work', mountPath: '/work' }] },
      ],
      containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', 'echo main >> /work/order; cat /work/order'], volumeMounts: [{ name: 'work', mountPath: '/work' }] }],
    }),
  );
  const p = await k.env.eventually(async () => {
    const p = await k.getPod('init');
    return p.status?.phase === 'Succeeded' && p;
  }, 10_000, 'init pod Succeeded');
  assert.deepEqual(p.status!.initContainerStatuses!.map((s) => s.state?.terminated?.reason), ['Completed', 'Completed']);
  assert.equal(p.status!.containerStatuses![0]!.state?.terminated?.exitCode, 0);
  assert.equal(cond(p, 'Initialized'), 'True');
  assert.equal(p.status!.conditions!.find((c) => c.type === 'Ready')?.reason, 'PodCompleted');
  const [c] = await k.runtime.listContainers({ labelSelector: { 'io.kubernetes.pod.uid': p.metadata!.uid!, 'io.kubernetes.container.name': 'main' } });
  assert.match(readFileSync(c!.logPath, 'utf8'), /a\n.*b\n.*main/s);
});

test('env from configMap, secret, fieldRef and $(VAR) expansion; volumes visible in the container', async () => {
  await k.env.client.resource('v1', 'ConfigMap').create('default', { metadata: { name: 'cfg' }, data: { color: 'blue', 'app.conf': 'x=1' } });
  await k.env.client.resource('v1', 'Secret').create('default', { metadata: { name: 'sec' }, data: { pass: Buffer.from('s3cret').toString('base64') } });
  await k.createPod(
    pod(
      'envs',
      {
        restartPolicy: 'Never',
        volumes: [
          { name: 'cm', configMap: { name: 'cfg' } },
          { name: 'sc', secret: { secretName: 'sec' } },
          { name: 'dw', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
          { name: 'ed', emptyDir: { medium: 'Memory' } },
        ],
        containers: [
          {
            name: 'c',
            image: 'busybox',
            command: ['sh', '-c', 'echo "$COLOR $PASS $POD $NS $NODE $GREETING"; cat /etc/cfg/app.conf; echo; cat /etc/sec/pass; echo; cat /etc/dw/labels; echo; echo ok > /scratch/f && cat /scratch/f; echo "$(MSG)"'],
            env: [
              { name: 'COLOR', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'color' } } },
              { name: 'PASS', valueFrom: { secretKeyRef: { name: 'sec', key: 'pass' } } },
              { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
              { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
              { name: 'GREETING', value: 'hi-$(POD)' },
              { name: 'MSG', value: 'expanded' },
            ],
            volumeMounts: [
              { name: 'cm', mountPath: '/etc/cfg' },
              { name: 'sc', mountPath: '/etc/sec' },
              { name: 'dw', mountPath: '/etc/dw' },
              { name: 'ed', mountPath: '/scratch' },
            ],
          },
        ],
      },
      { app: 'envs' },
    ),
  );
  const p = await k.env.eventually(async () => {
    const p = await k.getPod('envs');
    return (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') && p;
  }, 10_000, 'envs done');
  const [c] = await k.runtime.listContainers({ labelSelector: { 'io.kubernetes.pod.uid': p.metadata!.uid! } });
  const log = readFileSync(c!.logPath, 'utf8');
  assert.equal(p.status?.phase, 'Succeeded', log);
  assert.match(log, /blue s3cret envs default node-1 hi-envs/);
  assert.match(log, /x=1/);
  assert.match(log, /F s3cret/);
  assert.match(log, /app="envs"/);
  assert.match(log, /F ok/);
  assert.match(log, /F expanded/);
});

test('an image with no host executable waits with ErrImagePull / ImagePullBackOff', async () => {
  await k.createPod(pod('noimg', { containers: [{ name: 'c', image: 'registry.example/no-such-binary-xyz:1.0' }] }));
  const p = await k.env.eventually(async () => {
    const p = await k.getPod('noimg');
    const r = p.status?.containerStatuses?.[0]?.state?.waiting?.reason;
    return (r === 'ErrImagePull' || r === 'ImagePullBackOff') && p;
  }, 10_000, 'ErrImagePull');
  assert.match(p.status!.containerStatuses![0]!.state!.waiting!.message!, /no-such-binary-xyz|Back-off pulling/);
  assert.equal(p.status?.phase, 'Pending');
  await k.env.client.resource('v1', 'Pod').delete('default', 'noimg');
});
