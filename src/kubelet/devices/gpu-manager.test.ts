import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Container, Event, Pod } from 'kubernetes-types/core/v1.js';
import { startScheduler, type RunningScheduler } from '../../scheduler/index.js';
import { startKubeletTestEnv, type KubeletTestEnv } from '../testing.js';
import { CHECKPOINT_FILE, DeviceAdmissionError, GpuManager } from './gpu-manager.js';

const devices = (n: number) => Array.from({ length: n }, (_, i) => ({ index: i, uuid: `GPU-fake-${i}` }));
const ctr = (name: string, gpus = 0): Container => ({
  name,
  image: 'busybox',
  ...(gpus ? { resources: { limits: { 'nvidia.com/gpu': String(gpus) }, requests: { 'nvidia.com/gpu': String(gpus) } } } : {}),
});
const mkPod = (uid: string, containers: Container[], initContainers: Container[] = []): Pod => ({
  metadata: { name: uid, namespace: 'default', uid },
  spec: { containers, ...(initContainers.length ? { initContainers } : {}) },
});

describe('GpuManager', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-gpu-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const fresh = (n: number, sub: string) => new GpuManager({ devices: devices(n), dataDir: join(dir, sub) });

  const cases: { name: string; n: number; pods: Pod[]; want: Record<string, Record<string, string>>; err?: RegExp }[] = [
    {
      name: 'two pods get different devices',
      n: 2,
      pods: [mkPod('a', [ctr('c', 1)]), mkPod('b', [ctr('c', 1)])],
      want: { a: { c: '0' }, b: { c: '1' } },
    },
    {
      name: 'containers of one pod get disjoint devices; a container without a request gets none',
      n: 4,
      pods: [mkPod('a', [ctr('x', 2), ctr('y', 1), ctr('z')])],
      want: { a: { x: '0,1', y: '2', z: '' } },
    },
    {
      name: 'init containers reuse each other and hand their devices to the app container',
      n: 2,
      pods: [mkPod('a', [ctr('app', 1)], [ctr('i1', 1), ctr('i2', 1)])],
      want: { a: { i1: '0', i2: '0', app: '0' } },
    },
    {
      name: 'more than is free fails admission with the upstream message and allocates nothing',
      n: 2,
      pods: [mkPod('a', [ctr('c', 1)]), mkPod('b', [ctr('c', 2)])],
      want: { a: { c: '0' }, b: { c: '' } },
      err: /^Allocate failed due to requested number of devices unavailable for nvidia\.com\/gpu\. Requested: 2, Available: 1, which is unexpected$/,
    },
  ];
  for (const [i, tc] of cases.entries()) {
    test(tc.name, () => {
      const m = fresh(tc.n, `case-${i}`);
      let err: unknown;
      for (const p of tc.pods) {
        try {
          m.admit(p);
        } catch (e) {
          err = e;
        }
      }
      if (tc.err) {
        assert.ok(err instanceof DeviceAdmissionError);
        assert.match(err.message, tc.err);
        assert.equal(err.reason, 'UnexpectedAdmissionError');
      } else assert.equal(err, undefined);
      for (const [uid, byC] of Object.entries(tc.want)) {
        for (const [c, idx] of Object.entries(byC)) assert.equal(m.devicesOf(uid, c).map((d) => d.index).join(','), idx, `${uid}/${c}`);
      }
    });
  }

  test('env names both indices and UUIDs; admission is idempotent; release and retain free devices', () => {
    const m = fresh(3, 'env');
    const a = mkPod('a', [ctr('c', 2)]);
    m.admit(a);
    m.admit(a);
    assert.deepEqual(m.envFor('a', 'c'), [
      { key: 'NVIDIA_VISIBLE_DEVICES', value: 'GPU-fake-0,GPU-fake-1' },
      { key: 'CUDA_VISIBLE_DEVICES', value: '0,1' },
      { key: 'CUDA_DEVICE_ORDER', value: 'PCI_BUS_ID' },
    ]);
    assert.deepEqual(m.envFor('a', 'other'), []);
    assert.equal(m.allocatedCount, 2);
    m.admit(mkPod('b', [ctr('c', 1)]));
    assert.throws(() => m.admit(mkPod('x', [ctr('c', 1)])), DeviceAdmissionError);
    m.release('a');
    m.admit(mkPod('c', [ctr('c', 2)]));
    assert.equal(m.devicesOf('c', 'c').map((d) => d.index).join(','), '0,1');
    m.retain((uid) => uid === 'b');
    assert.equal(m.allocatedCount, 1);
  });

  test('the checkpoint survives a restart; a corrupt one is discarded; vanished devices are dropped', () => {
    const m = fresh(2, 'cp');
    m.admit(mkPod('a', [ctr('c', 1)]));
    m.admit(mkPod('b', [ctr('c', 1)]));
    const path = join(dir, 'cp', CHECKPOINT_FILE);
    const cp = JSON.parse(readFileSync(path, 'utf8'));
    assert.deepEqual(cp.Data.PodDeviceEntries[0], { PodUID: 'a', ContainerName: 'c', ResourceName: 'nvidia.com/gpu', DeviceIDs: ['GPU-fake-0'] });
    const again = fresh(2, 'cp');
    assert.equal(again.devicesOf('b', 'c')[0]?.uuid, 'GPU-fake-1');
    assert.throws(() => again.admit(mkPod('x', [ctr('c', 1)])), DeviceAdmissionError);
    const fewer = fresh(1, 'cp');
    assert.deepEqual(fewer.devicesOf('b', 'c'), []);
    assert.equal(fewer.allocatedCount, 1);
    writeFileSync(path, JSON.stringify({ ...cp, Checksum: cp.Checksum + 1 }));
    assert.equal(fresh(2, 'cp').allocatedCount, 0);
  });
});

describe('GPU pods on a node with two fake GPUs', () => {
  let k: KubeletTestEnv;
  let sched: RunningScheduler;
  before(async () => {
    k = await startKubeletTestEnv({ fakeGpus: 2 });
    sched = startScheduler({ client: k.env.client, leaderElection: false, logger: { debug() {}, info() {}, warn() {}, error() {} } });
  });
  after(async () => {
    await sched?.stop();
    await k?.close();
  });

  const pods = () => k.env.client.resource<Pod>('v1', 'Pod');
  const gpuPod = (name: string, script: string, restartPolicy: 'Always' | 'Never' = 'Always', gpus = 1): Pod => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      restartPolicy,
      terminationGracePeriodSeconds: 1,
      containers: [{ ...ctr('c', gpus), command: ['sh', '-c', script] }],
    },
  });
  /** What the container printed: `$CUDA_VISIBLE_DEVICES $NVIDIA_VISIBLE_DEVICES`. */
  const seen = (name: string) =>
    k.env.eventually(async () => {
      const p = await k.getPod(name);
      const [c] = await k.runtime.listContainers({ labelSelector: { 'io.kubernetes.pod.uid': p.metadata!.uid! } });
      const m = c && existsSync(c.logPath) ? /stdout F (\S+) (\S+)/.exec(readFileSync(c.logPath, 'utf8')) : null;
      return m ? { index: m[1]!, uuid: m[2]! } : false;
    }, 10_000, `${name} printed its devices`);
  const running = (name: string) =>
    k.env.eventually(async () => (await k.getPod(name)).status?.phase === 'Running', 10_000, `${name} Running`);
  const script = 'echo $CUDA_VISIBLE_DEVICES $NVIDIA_VISIBLE_DEVICES; sleep 30';

  test('a finished pod gives its device back', async () => {
    await pods().create('default', gpuPod('once', 'echo $CUDA_VISIBLE_DEVICES $NVIDIA_VISIBLE_DEVICES', 'Never'));
    assert.deepEqual(await seen('once'), { index: '0', uuid: 'GPU-fake-0' });
    await k.env.eventually(async () => (await k.getPod('once')).status?.phase === 'Succeeded', 10_000, 'once Succeeded');
    await k.env.eventually(() => k.agent.gpus!.allocatedCount === 0, 5000, 'device released');
  });

  test('two pods get different devices, a third waits, a fourth bound directly is rejected, restart keeps them', async () => {
    await pods().create('default', gpuPod('g1', script));
    await pods().create('default', gpuPod('g2', script));
    const [d1, d2] = [await seen('g1'), await seen('g2')];
    assert.deepEqual([d1.index, d2.index].sort(), ['0', '1']);
    assert.equal(d1.uuid, `GPU-fake-${d1.index}`);
    await Promise.all([running('g1'), running('g2')]);

    // The scheduler keeps the third Pending: the node has no nvidia.com/gpu left.
    await pods().create('default', gpuPod('g3', script));
    const ev = await k.env.eventually(async () => {
      const list = await k.env.client.resource<Event>('v1', 'Event').list('default');
      return list.items.find((e) => e.involvedObject.name === 'g3' && e.reason === 'FailedScheduling');
    }, 10_000, 'FailedScheduling for g3');
    assert.match(ev.message!, /0\/1 nodes are available: 1 Insufficient nvidia\.com\/gpu\./);
    const g3 = await k.getPod('g3');
    assert.ok(g3.status?.phase === undefined || g3.status.phase === 'Pending');
    assert.equal(g3.spec?.nodeName, undefined);

    // Bound past the scheduler, the kubelet's admission rejects it as upstream.
    await k.createPod(gpuPod('g4', script, 'Always', 2));
    const g4 = await k.env.eventually(async () => {
      const p = await k.getPod('g4');
      return p.status?.phase === 'Failed' && p;
    }, 10_000, 'g4 rejected');
    assert.equal(g4.status?.reason, 'UnexpectedAdmissionError');
    assert.equal(
      g4.status?.message,
      'Pod was rejected: Allocate failed due to requested number of devices unavailable for nvidia.com/gpu. Requested: 2, Available: 0, which is unexpected',
    );
    assert.equal(g4.status?.containerStatuses, undefined);

    // A restarted agent adopts g1/g2 with the same devices (checkpoint) and keeps g4 rejected.
    const uid1 = (await k.getPod('g1')).metadata!.uid!;
    const before1 = (await k.getPod('g1')).status!.containerStatuses![0]!.containerID;
    await k.agent.stop();
    const agent = await k.restartAgent();
    assert.equal(agent.gpus!.devicesOf(uid1, 'c')[0]?.index, Number(d1.index));
    assert.equal(agent.gpus!.allocatedCount, 2);
    await new Promise((r) => setTimeout(r, 300));
    const g1 = await k.getPod('g1');
    assert.equal(g1.status?.containerStatuses?.[0]?.containerID, before1);
    assert.equal(g1.status?.containerStatuses?.[0]?.restartCount, 0);
    assert.equal((await k.getPod('g4')).status?.reason, 'UnexpectedAdmissionError');

    // g1 goes: its device goes to g3, which the scheduler now binds.
    await pods().delete('default', 'g1', { gracePeriodSeconds: 0 });
    assert.equal((await seen('g3')).index, d1.index);
    await running('g3');
    assert.equal(agent.gpus!.allocatedCount, 2);
  });
});
