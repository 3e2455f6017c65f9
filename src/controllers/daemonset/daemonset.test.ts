import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ControllerRevision, DaemonSet } from 'kubernetes-types/apps/v1.js';
import type { Node, Pod, Taint } from 'kubernetes-types/core/v1.js';
import { startControllerTestEnv, type ControllerTestEnv } from '../testing.js';
import { definition } from './index.js';

let env: ControllerTestEnv;
let n = 0;

before(async () => {
  env = await startControllerTestEnv();
  await env.run([definition]);
});
after(async () => {
  await env.close();
});

const dss = () => env.client.resource<DaemonSet>('apps/v1', 'DaemonSet');
const pods = () => env.client.resource<Pod>('v1', 'Pod');
const nodes = () => env.client.resource<Node>('v1', 'Node');
const revs = () => env.client.resource<ControllerRevision>('apps/v1', 'ControllerRevision');

/** Every test uses its own namespace and node label, so DaemonSets of other tests never target its nodes. */
async function namespace(): Promise<string> {
  const ns = `ds-${++n}`;
  await env.client.resource('v1', 'Namespace').create(undefined, { metadata: { name: ns } } as never);
  return ns;
}

async function addNode(name: string, labels: Record<string, string>, taints: Taint[] = []): Promise<void> {
  await nodes().create(undefined, { metadata: { name, labels }, spec: { taints } });
}

function daemonSet(name: string, pool: string, extra: Partial<NonNullable<DaemonSet['spec']>> = {}): DaemonSet {
  return {
    metadata: { name },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { nodeSelector: { pool }, containers: [{ name: 'c', image: 'agent:1' }] },
      },
      ...extra,
    },
  };
}

const nodeOf = (p: Pod) => p.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms?.[0]?.matchFields?.[0]?.values?.[0];

async function livePods(ns: string): Promise<Pod[]> {
  return (await pods().list(ns)).items.filter((p) => !p.metadata?.deletionTimestamp);
}

async function waitNodes(ns: string, want: string[], what: string): Promise<Pod[]> {
  return env.eventually(async () => {
    const ps = await livePods(ns);
    return ps.map(nodeOf).sort().join(',') === [...want].sort().join(',') ? ps : undefined;
  }, 10_000, what);
}

async function markReady(ns: string, p: Pod): Promise<void> {
  const cur = await pods().get(ns, p.metadata!.name!);
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  await pods().updateStatus(ns, { ...cur, status: { ...cur.status, phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }] } });
}

test('one pod per eligible node: taints and nodeSelector exclude nodes; a new node gets a pod', async () => {
  const ns = await namespace();
  const pool = `p${n}`;
  await addNode(`${pool}-a`, { pool });
  await addNode(`${pool}-tainted`, { pool }, [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }]);
  await addNode(`${pool}-other`, { pool: 'elsewhere' });
  await dss().create(ns, daemonSet('agent', pool));
  const [p] = await waitNodes(ns, [`${pool}-a`], 'one pod');
  assert.equal(p!.spec?.nodeName, undefined, 'upstream leaves binding to the scheduler');
  assert.deepEqual(p!.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms,
    [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [`${pool}-a`] }] }]);
  assert.match(p!.metadata!.name!, /^agent-/);
  const ds = await dss().get(ns, 'agent');
  assert.equal(p!.metadata?.labels?.['pod-template-generation'], '1');
  const hash = p!.metadata?.labels?.['controller-revision-hash'];
  const rev = await revs().get(ns, `agent-${hash}`);
  assert.equal(rev.revision, 1);
  assert.equal(p!.metadata?.ownerReferences?.[0]?.uid, ds.metadata?.uid);
  const keys = (p!.spec?.tolerations ?? []).map((t) => `${t.key}:${t.effect}`).sort();
  assert.deepEqual(keys, [
    'node.kubernetes.io/disk-pressure:NoSchedule', 'node.kubernetes.io/memory-pressure:NoSchedule', 'node.kubernetes.io/not-ready:NoExecute',
    'node.kubernetes.io/pid-pressure:NoSchedule', 'node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unschedulable:NoSchedule',
  ]);

  await addNode(`${pool}-b`, { pool });
  await waitNodes(ns, [`${pool}-a`, `${pool}-b`], 'pod on the new node');
  for (const q of await livePods(ns)) await markReady(ns, q);
  const st = await env.eventually(async () => {
    const s = (await dss().get(ns, 'agent')).status;
    return s?.numberReady === 2 ? s : undefined;
  }, 10_000, 'status');
  assert.deepEqual(
    { d: st.desiredNumberScheduled, c: st.currentNumberScheduled, a: st.numberAvailable, u: st.numberUnavailable, up: st.updatedNumberScheduled, m: st.numberMisscheduled },
    { d: 2, c: 2, a: 2, u: 0, up: 2, m: 0 },
  );

  // a node that stops matching loses its pod; a deleted node's unbound pod goes too
  await nodes().patch(undefined, `${pool}-b`, 'merge', { metadata: { labels: { pool: 'elsewhere' } } });
  await waitNodes(ns, [`${pool}-a`], 'pod removed from relabelled node');
  await nodes().delete(undefined, `${pool}-a`);
  await waitNodes(ns, [], 'pod removed with its node');
  const evs = (await env.client.resource<{ reason?: string; message?: string }>('v1', 'Event').list(ns)).items;
  assert.ok(evs.some((e) => e.reason === 'SuccessfulCreate' && /^Created pod: agent-/.test(e.message ?? '')));
  await env.eventually(async () => {
    const evs2 = (await env.client.resource<{ reason?: string; message?: string }>('v1', 'Event').list(ns)).items;
    return evs2.some((e) => e.reason === 'SuccessfulDelete' && /^Deleted pod: agent-/.test(e.message ?? ''));
  }, 5_000, 'delete event');
});

test('rolling update with maxUnavailable 1 replaces one pod at a time', async () => {
  const ns = await namespace();
  const pool = `p${n}`;
  for (const x of ['a', 'b', 'c']) await addNode(`${pool}-${x}`, { pool });
  await dss().create(ns, daemonSet('ru', pool, { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } } }));
  const first = await waitNodes(ns, [`${pool}-a`, `${pool}-b`, `${pool}-c`], 'three pods');
  for (const p of first) await markReady(ns, p);
  await env.eventually(async () => (await dss().get(ns, 'ru')).status?.numberAvailable === 3, 10_000, 'available');
  const oldHash = first[0]!.metadata?.labels?.['controller-revision-hash'];

  await dss().patch(ns, 'ru', 'merge', { spec: { template: { spec: { containers: [{ name: 'c', image: 'agent:2' }] } } } });
  let maxOldGone = 0;
  for (let round = 0; round < 3; round++) {
    // exactly one old pod is replaced; the new one waits for readiness before the next goes
    const fresh = await env.eventually(async () => {
      const ps = await livePods(ns);
      const news = ps.filter((p) => p.metadata?.labels?.['controller-revision-hash'] !== oldHash && p.status?.phase !== 'Running');
      return news.length ? { ps, news } : undefined;
    }, 10_000, `round ${round}`);
    await new Promise((r) => setTimeout(r, 200));
    const all = await livePods(ns);
    const notReady = all.filter((p) => p.status?.phase !== 'Running');
    maxOldGone = Math.max(maxOldGone, notReady.length + (3 - all.length));
    assert.equal(fresh.news.length, 1);
    assert.equal(fresh.news[0]!.spec?.containers[0]?.image, 'agent:2');
    await markReady(ns, fresh.news[0]!);
  }
  assert.equal(maxOldGone, 1, 'never more than one pod unavailable');
  const done = await env.eventually(async () => {
    const s = (await dss().get(ns, 'ru')).status;
    return s?.updatedNumberScheduled === 3 && s.numberAvailable === 3 ? s : undefined;
  }, 10_000, 'rollout complete');
  assert.equal(done.observedGeneration, 2);
  assert.deepEqual((await revs().list(ns)).items.map((r) => r.revision).sort(), [1, 2]);
});

test('bindDirectly sets spec.nodeName', async () => {
  const { createDaemonSetController } = await import('./index.js');
  const env2 = await startControllerTestEnv();
  try {
    await env2.run([createDaemonSetController({ bindDirectly: true })]);
    await env2.client.resource<Node>('v1', 'Node').create(undefined, { metadata: { name: 'solo', labels: { pool: 'solo' } } });
    await env2.client.resource<DaemonSet>('apps/v1', 'DaemonSet').create('default', daemonSet('b', 'solo'));
    const p = await env2.eventually(async () => (await env2.client.resource<Pod>('v1', 'Pod').list('default')).items[0], 10_000, 'pod');
    assert.equal(p.spec?.nodeName, 'solo');
    assert.equal(nodeOf(p), 'solo');
  } finally {
    await env2.close();
  }
});
