import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node, Pod, Taint, Toleration } from 'kubernetes-types/core/v1.js';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import { isAlreadyExists } from '../../client/rest.js';
import { startControllerTestEnv, type ControllerTestEnv } from '../testing.js';
import {
  definition, desiredTaints, effectiveTolerations, noExecuteDecision, reconcileTaints, TAINT_NOT_READY, TAINT_UNREACHABLE,
  unknownConditions,
} from './index.js';

const unreachable: Taint = { key: TAINT_UNREACHABLE, effect: 'NoExecute' };
const notReady: Taint = { key: TAINT_NOT_READY, effect: 'NoExecute' };

test('noExecuteDecision: table', () => {
  const cases: Array<{ name: string; taints: Taint[]; tols: Toleration[]; want: { evictNow: boolean; minSeconds?: number } }> = [
    { name: 'untolerated', taints: [{ key: 'dedicated', value: 'x', effect: 'NoExecute' }], tols: [], want: { evictNow: true } },
    { name: 'tolerated forever', taints: [unreachable], tols: [{ key: TAINT_UNREACHABLE, operator: 'Exists', effect: 'NoExecute' }], want: { evictNow: false, minSeconds: undefined } },
    { name: 'tolerated 30s', taints: [unreachable], tols: [{ key: TAINT_UNREACHABLE, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 }], want: { evictNow: false, minSeconds: 30 } },
    { name: 'min of used', taints: [unreachable, notReady], tols: [{ key: TAINT_UNREACHABLE, operator: 'Exists', tolerationSeconds: 30 }, { key: TAINT_NOT_READY, operator: 'Exists', tolerationSeconds: 10 }], want: { evictNow: false, minSeconds: 10 } },
    { name: 'zero seconds evicts now', taints: [unreachable], tols: [{ key: TAINT_UNREACHABLE, operator: 'Exists', tolerationSeconds: 0 }], want: { evictNow: true } },
    { name: 'empty key Exists tolerates all', taints: [unreachable, { key: 'a', value: 'b', effect: 'NoExecute' }], tols: [{ operator: 'Exists' }], want: { evictNow: false, minSeconds: undefined } },
    { name: 'Equal needs the value', taints: [{ key: 'a', value: 'b', effect: 'NoExecute' }], tols: [{ key: 'a', value: 'c', effect: 'NoExecute' }], want: { evictNow: true } },
    { name: 'wrong effect', taints: [unreachable], tols: [{ key: TAINT_UNREACHABLE, operator: 'Exists', effect: 'NoSchedule' }], want: { evictNow: true } },
  ];
  for (const c of cases) assert.deepEqual(noExecuteDecision(c.taints, c.tols), c.want, c.name);
  // Default tolerations stand in for the DefaultTolerationSeconds admission only where the pod has none.
  assert.deepEqual(noExecuteDecision([unreachable], effectiveTolerations([], 300)), { evictNow: false, minSeconds: 300 });
  assert.deepEqual(noExecuteDecision([unreachable], effectiveTolerations([{ key: TAINT_UNREACHABLE, operator: 'Exists', effect: 'NoExecute' }], 300)), { evictNow: false, minSeconds: undefined });
  assert.equal(effectiveTolerations([{ operator: 'Exists' }], 300).length, 1);
});

test('taints and conditions follow node health: table', () => {
  assert.deepEqual(desiredTaints([{ type: 'Ready', status: 'True' }], false), []);
  assert.deepEqual(desiredTaints([{ type: 'Ready', status: 'False' }], false), [{ key: TAINT_NOT_READY, effect: 'NoExecute' }, { key: TAINT_NOT_READY, effect: 'NoSchedule' }]);
  assert.deepEqual(desiredTaints([], true).map((t) => `${t.key}:${t.effect}`), [`${TAINT_UNREACHABLE}:NoExecute`, `${TAINT_UNREACHABLE}:NoSchedule`, 'node.kubernetes.io/unschedulable:NoSchedule']);
  assert.deepEqual(desiredTaints([{ type: 'Ready', status: 'True' }, { type: 'DiskPressure', status: 'True' }], false), [{ key: 'node.kubernetes.io/disk-pressure', effect: 'NoSchedule' }]);
  // Unmanaged taints stay; managed ones swap; no change → undefined.
  const user: Taint = { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' };
  const swapped = reconcileTaints([user, { ...notReady, timeAdded: 'x' }], [{ key: TAINT_UNREACHABLE, effect: 'NoExecute' }], 'T');
  assert.deepEqual(swapped, [user, { key: TAINT_UNREACHABLE, effect: 'NoExecute', timeAdded: 'T' }]);
  assert.equal(reconcileTaints(swapped, [{ key: TAINT_UNREACHABLE, effect: 'NoExecute' }], 'T2'), undefined);
  const conds = unknownConditions([{ type: 'Ready', status: 'True', lastHeartbeatTime: 'H' }], 'NOW')!;
  assert.deepEqual(conds.find((c) => c.type === 'Ready'), { type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastHeartbeatTime: 'H', lastTransitionTime: 'NOW' });
  assert.equal(conds.find((c) => c.type === 'MemoryPressure')?.reason, 'NodeStatusNeverUpdated');
  assert.equal(unknownConditions(conds, 'LATER'), undefined);
});

const micro = (ms: number) => new Date(ms).toISOString().replace('Z', '000Z');
const secs = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

async function postReady(env: ControllerTestEnv, name: string, status: 'True' | 'False'): Promise<void> {
  const nodes = env.client.resource<Node>('v1', 'Node');
  const n = await nodes.get(undefined, name);
  const now = secs(Date.now());
  const prev = n.status?.conditions?.find((c) => c.type === 'Ready');
  await nodes.updateStatus(undefined, {
    ...n,
    status: { ...n.status, conditions: [{ type: 'Ready', status, reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: now, lastTransitionTime: prev?.status === status ? prev.lastTransitionTime : now }] },
  });
}

function boundPod(name: string, node: string, tolerations?: Toleration[]): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { nodeName: node, tolerations, containers: [{ name: 'c', image: 'busybox' }] } };
}

test('node lifecycle: lease expiry → Unknown + unreachable taints, evictions, recovery', async () => {
  const env = await startControllerTestEnv();
  let renewing = true;
  let timer: NodeJS.Timeout | undefined;
  try {
    const nodes = env.client.resource<Node>('v1', 'Node');
    const leases = env.client.resource<Lease>('coordination.k8s.io/v1', 'Lease');
    const pods = env.client.resource<Pod>('v1', 'Pod');
    await env.client.resource('v1', 'Namespace').create(undefined, { metadata: { name: 'kube-node-lease' } } as never).catch((e) => {
      if (!isAlreadyExists(e)) throw e;
    });
    await nodes.create(undefined, { metadata: { name: 'n1' } });
    await postReady(env, 'n1', 'True');
    await leases.create('kube-node-lease', { metadata: { name: 'n1' }, spec: { holderIdentity: 'n1', leaseDurationSeconds: 40, renewTime: micro(Date.now()) } });
    const renew = async () => {
      if (!renewing) return;
      const l = await leases.get('kube-node-lease', 'n1');
      l.spec = { ...l.spec, renewTime: micro(Date.now()) };
      await leases.update('kube-node-lease', l);
    };
    timer = setInterval(() => void renew().catch(() => undefined), 200);

    await pods.create('default', boundPod('no-toleration', 'n1'));
    await pods.create('default', boundPod('tolerates-2s', 'n1', [{ key: TAINT_UNREACHABLE, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 2 }]));
    await pods.create('default', boundPod('tolerates-forever', 'n1', [{ key: TAINT_UNREACHABLE, operator: 'Exists', effect: 'NoExecute' }]));
    const forever = await pods.get('default', 'tolerates-forever');
    await pods.updateStatus('default', { ...forever, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } });

    await env.run([definition], { nodeMonitorGracePeriodMs: 1000, defaultNotReadyTolerationSeconds: 0 });
    // A fresh Lease keeps the node Ready past the grace period.
    await new Promise((r) => setTimeout(r, 1800));
    let n = await nodes.get(undefined, 'n1');
    assert.equal(n.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
    assert.deepEqual(n.spec?.taints ?? [], []);

    // Stop renewing: Unknown, unreachable taints.
    renewing = false;
    n = await env.eventually(async () => {
      const x = await nodes.get(undefined, 'n1');
      const keys = (x.spec?.taints ?? []).map((t) => `${t.key}:${t.effect}`).sort();
      return keys.join() === `${TAINT_UNREACHABLE}:NoExecute,${TAINT_UNREACHABLE}:NoSchedule` ? x : undefined;
    }, 5000, 'unreachable taints');
    const tainted = Date.now();
    const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.status, 'Unknown');
    assert.equal(ready?.reason, 'NodeStatusUnknown');
    assert.equal(ready?.message, 'Kubelet stopped posting node status.');
    assert.ok(n.spec!.taints!.find((t) => t.effect === 'NoExecute')!.timeAdded);

    const gone = async (name: string) => {
      const p = await pods.get('default', name).catch(() => undefined);
      return !p || !!p.metadata?.deletionTimestamp;
    };
    // No toleration (and a default toleration of 0 s): evicted at once, with the DisruptionTarget condition.
    await env.eventually(() => gone('no-toleration'), 3000, 'no-toleration evicted');
    const evicted = await pods.get('default', 'no-toleration').catch(() => undefined);
    if (evicted) assert.equal(evicted.status?.conditions?.find((c) => c.type === 'DisruptionTarget')?.reason, 'DeletionByTaintManager');
    // MarkPodsNotReady.
    await env.eventually(async () => (await pods.get('default', 'tolerates-forever')).status?.conditions?.find((c) => c.type === 'Ready')?.status === 'False', 3000, 'pod marked not ready');
    // tolerationSeconds 2: still there shortly after, gone after 2 s.
    assert.equal(await gone('tolerates-2s'), false);
    await env.eventually(() => gone('tolerates-2s'), 5000, 'tolerates-2s evicted');
    assert.ok(Date.now() - tainted >= 1500, `evicted after ${Date.now() - tainted} ms`);
    assert.equal(await gone('tolerates-forever'), false);

    const events = await env.client.resource<{ reason?: string; involvedObject?: { name?: string } }>('v1', 'Event').list('default');
    const reasons = new Set(events.items.map((e) => `${e.reason}/${e.involvedObject?.name}`));
    assert.ok(reasons.has('TaintManagerEviction/no-toleration'), [...reasons].join());
    assert.ok(reasons.has('NodeNotReady/n1'), [...reasons].join());

    // Kubelet back: lease renewed and Ready posted → taints removed.
    renewing = true;
    await postReady(env, 'n1', 'True');
    await env.eventually(async () => ((await nodes.get(undefined, 'n1')).spec?.taints ?? []).length === 0, 5000, 'taints removed');

    // Kubelet reports Ready=False: not-ready taints.
    await postReady(env, 'n1', 'False');
    await env.eventually(async () => {
      const keys = ((await nodes.get(undefined, 'n1')).spec?.taints ?? []).map((t) => `${t.key}:${t.effect}`).sort();
      return keys.join() === `${TAINT_NOT_READY}:NoExecute,${TAINT_NOT_READY}:NoSchedule`;
    }, 5000, 'not-ready taints');
  } finally {
    renewing = false;
    clearInterval(timer);
    await env.close();
  }
});
