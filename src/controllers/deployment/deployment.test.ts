import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { CoreEvent } from '../../client/events.js';
import type { ResourceClient } from '../../client/dynamic.js';
import { startControllerTestEnv, type ControllerTestEnv } from '../testing.js';
import { definition as replicaset } from '../replicaset/index.js';
import { startTestingKubelet, type TestingKubelet } from '../replicaset/testing-kubelet.js';
import { definition } from './index.js';

const NS = 'default';

function deploy(name: string, replicas: number, spec: Partial<NonNullable<Deployment['spec']>> = {}, image = 'nginx:1'): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image }] } },
      ...spec,
    },
  };
}

describe('deployment controller', () => {
  let env: ControllerTestEnv;
  let kubelet: TestingKubelet;
  let dc: ResourceClient<Deployment>;
  let rsc: ResourceClient<ReplicaSet>;
  let pods: ResourceClient<Pod>;
  let events: ResourceClient<CoreEvent>;
  const rsOf = async (name: string) => {
    const d = await dc.get(NS, name);
    return (await rsc.list(NS)).items.filter((r) => r.metadata?.ownerReferences?.some((o) => o.uid === d.metadata?.uid));
  };
  const setImage = (name: string, image: string) =>
    dc.patch(NS, name, 'strategic', { spec: { template: { spec: { containers: [{ name: 'c', image }] } } } });
  /** What `kubectl rollout status` waits for. */
  const rolledOut = async (name: string) => {
    const d = await dc.get(NS, name);
    const s = d.status ?? {};
    const want = d.spec?.replicas ?? 1;
    return (d.metadata?.generation ?? 0) <= (s.observedGeneration ?? 0) && (s.updatedReplicas ?? 0) === want && (s.replicas ?? 0) === want && (s.availableReplicas ?? 0) === want && d;
  };

  before(async () => {
    env = await startControllerTestEnv();
    dc = env.client.resource<Deployment>('apps/v1', 'Deployment');
    rsc = env.client.resource<ReplicaSet>('apps/v1', 'ReplicaSet');
    pods = env.client.resource<Pod>('v1', 'Pod');
    events = env.client.resource<CoreEvent>('v1', 'Event');
    kubelet = await startTestingKubelet(env.client, { bindTo: 'node-1', ready: (p) => !p.spec?.containers?.some((c) => c.image === 'never-ready') });
    await env.run([replicaset, definition]);
  });
  after(async () => {
    await kubelet.stop();
    await env.close();
  });

  test('rolling update: revisions, hash-named ReplicaSets, maxSurge/maxUnavailable bounds, conditions, events', async () => {
    await dc.create(NS, deploy('web', 4, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } }));
    const d1 = await env.eventually(() => rolledOut('web'), 15_000, 'first rollout');
    const [rs1] = await rsOf('web');
    const hash = rs1!.metadata!.labels!['pod-template-hash']!;
    assert.match(hash, /^[bcdfghjklmnpqrstvwxz2456789]+$/);
    assert.equal(rs1!.metadata!.name, `web-${hash}`);
    assert.deepEqual(rs1!.spec!.selector!.matchLabels, { app: 'web', 'pod-template-hash': hash });
    assert.equal(rs1!.spec!.template!.metadata!.labels!['pod-template-hash'], hash);
    assert.equal(rs1!.metadata!.annotations!['deployment.kubernetes.io/revision'], '1');
    assert.equal(rs1!.metadata!.annotations!['deployment.kubernetes.io/desired-replicas'], '4');
    assert.equal(rs1!.metadata!.annotations!['deployment.kubernetes.io/max-replicas'], '5');
    assert.equal(rs1!.metadata!.ownerReferences![0]!.controller, true);
    assert.equal(d1.metadata!.annotations!['deployment.kubernetes.io/revision'], '1');
    const cond = (d: Deployment, t: string) => d.status?.conditions?.find((c) => c.type === t);
    await env.eventually(async () => cond(await dc.get(NS, 'web'), 'Progressing')?.reason === 'NewReplicaSetAvailable', 10_000, 'NewReplicaSetAvailable');
    const d1b = await dc.get(NS, 'web');
    assert.equal(cond(d1b, 'Available')?.reason, 'MinimumReplicasAvailable');
    assert.equal(cond(d1b, 'Progressing')?.message, `ReplicaSet "web-${hash}" has successfully progressed.`);
    assert.equal(d1b.status?.unavailableReplicas ?? 0, 0);
    assert.equal(d1b.status?.readyReplicas, 4);

    // Roll to a new image while sampling bounds: never more than 4+1 pods wanted, never fewer than 4 available.
    await dc.patch(NS, 'web', 'merge', { metadata: { annotations: { 'kubernetes.io/change-cause': 'image 2' } } });
    await setImage('web', 'nginx:2');
    let maxTotal = 0;
    let minAvail = Infinity;
    await env.eventually(async () => {
      const rss = await rsOf('web');
      maxTotal = Math.max(maxTotal, rss.reduce((n, r) => n + (r.spec?.replicas ?? 0), 0));
      minAvail = Math.min(minAvail, rss.reduce((n, r) => n + (r.status?.availableReplicas ?? 0), 0));
      return rss.length === 2 && rolledOut('web');
    }, 20_000, 'second rollout');
    assert.ok(maxTotal <= 5, `surge bound: ${maxTotal}`);
    assert.ok(minAvail >= 4, `availability bound: ${minAvail}`);
    const rss = await rsOf('web');
    const rs2 = rss.find((r) => r.metadata?.uid !== rs1!.metadata?.uid)!;
    assert.equal(rs2.metadata!.annotations!['deployment.kubernetes.io/revision'], '2');
    assert.equal(rs2.metadata!.annotations!['kubernetes.io/change-cause'], 'image 2');
    assert.equal(rss.find((r) => r.metadata?.uid === rs1!.metadata?.uid)!.spec!.replicas, 0);
    await env.eventually(async () => (await dc.get(NS, 'web')).metadata?.annotations?.['deployment.kubernetes.io/revision'] === '2', 5000, 'deployment revision 2');
    const msgs = (await events.list(NS)).items.filter((e) => e.involvedObject.name === 'web' && e.reason === 'ScalingReplicaSet').map((e) => e.message);
    assert.ok(msgs.includes(`Scaled up replica set web-${hash} from 0 to 4`), msgs.join('\n'));
    assert.ok(msgs.includes(`Scaled up replica set ${rs2.metadata!.name} from 0 to 1`), msgs.join('\n'));
    assert.ok(msgs.includes(`Scaled down replica set web-${hash} from 4 to 3`), msgs.join('\n'));

    // Undo as kubectl does it: copy revision 1's template back. The old ReplicaSet becomes revision 3.
    const tpl = structuredClone(rs1!.spec!.template!);
    delete tpl.metadata!.labels!['pod-template-hash'];
    await dc.patch(NS, 'web', 'json', [{ op: 'replace', path: '/spec/template', value: tpl }]);
    await env.eventually(async () => {
      const r = (await rsOf('web')).find((x) => x.metadata?.uid === rs1!.metadata?.uid);
      return r?.metadata?.annotations?.['deployment.kubernetes.io/revision'] === '3' && r.spec?.replicas === 4 && rolledOut('web');
    }, 20_000, 'undo rollout');
    const back = (await rsOf('web')).find((x) => x.metadata?.uid === rs1!.metadata?.uid)!;
    assert.equal(back.metadata!.annotations!['deployment.kubernetes.io/revision-history'], '1');
    assert.equal((await rsOf('web')).length, 2, 'no third ReplicaSet');
  });

  test('Recreate: old pods are gone before new pods exist', async () => {
    await dc.create(NS, deploy('rec', 2, { strategy: { type: 'Recreate' } }));
    await env.eventually(() => rolledOut('rec'), 15_000, 'first rollout');
    const [old] = await rsOf('rec');
    await setImage('rec', 'nginx:2');
    let overlap = false;
    await env.eventually(async () => {
      const ps = (await pods.list(NS, { labelSelector: 'app=rec' })).items;
      const hashes = new Set(ps.map((p) => p.metadata?.labels?.['pod-template-hash']));
      if (hashes.size > 1) overlap = true;
      return (await rsOf('rec')).length === 2 && rolledOut('rec');
    }, 20_000, 'recreate rollout');
    assert.equal(overlap, false, 'old and new pods never coexist');
    const oldNow = (await rsOf('rec')).find((r) => r.metadata?.uid === old!.metadata?.uid)!;
    assert.equal(oldNow.spec?.replicas, 0);
  });

  test('paused deployments scale but do not roll out; resume rolls out', async () => {
    await dc.create(NS, deploy('pz', 2));
    await env.eventually(() => rolledOut('pz'), 15_000, 'first rollout');
    await dc.patch(NS, 'pz', 'merge', { spec: { paused: true } });
    await env.eventually(async () => (await dc.get(NS, 'pz')).status?.conditions?.find((c) => c.type === 'Progressing')?.reason === 'DeploymentPaused', 10_000, 'DeploymentPaused');
    await setImage('pz', 'nginx:2');
    // A read-modify-write of the scale subresource races the controller's status writes: retry on 409, as kubectl does.
    for (let i = 0; ; i++) {
      try {
        await dc.scale(NS, 'pz', 3);
        break;
      } catch (e) {
        if ((e as { code?: number }).code !== 409 || i >= 20) throw e;
      }
    }
    await env.eventually(async () => {
      const rss = await rsOf('pz');
      return rss.length === 1 && rss[0]!.spec?.replicas === 3 && rss[0]!.status?.availableReplicas === 3;
    }, 10_000, 'scaled while paused');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await rsOf('pz')).length, 1, 'no new ReplicaSet while paused');
    await dc.patch(NS, 'pz', 'merge', { spec: { paused: false } });
    await env.eventually(async () => (await rsOf('pz')).length === 2 && rolledOut('pz'), 20_000, 'rollout after resume');
  });

  test('revisionHistoryLimit deletes the oldest empty ReplicaSets', async () => {
    await dc.create(NS, deploy('hist', 1, { revisionHistoryLimit: 1 }));
    await env.eventually(() => rolledOut('hist'), 15_000, 'rev 1');
    for (const img of ['nginx:2', 'nginx:3', 'nginx:4']) {
      await setImage('hist', img);
      await env.eventually(async () => {
        const d = await rolledOut('hist');
        return d && (await rsOf('hist')).some((r) => r.spec?.template?.spec?.containers?.[0]?.image === img && r.status?.availableReplicas === 1);
      }, 15_000, img);
    }
    await env.eventually(async () => (await rsOf('hist')).length === 2, 10_000, 'history trimmed to 1 old ReplicaSet');
    const revs = (await rsOf('hist')).map((r) => r.metadata?.annotations?.['deployment.kubernetes.io/revision']).sort();
    assert.deepEqual(revs, ['3', '4']);
  });

  test('progressDeadlineSeconds: a stuck rollout gets ProgressDeadlineExceeded', async () => {
    await dc.create(NS, deploy('stuck', 1, { progressDeadlineSeconds: 1 }, 'never-ready'));
    await env.eventually(async () => {
      const c = (await dc.get(NS, 'stuck')).status?.conditions?.find((x) => x.type === 'Progressing');
      return c?.status === 'False' && c.reason === 'ProgressDeadlineExceeded' && c;
    }, 8_000, 'ProgressDeadlineExceeded');
    const d = await dc.get(NS, 'stuck');
    assert.equal(d.status?.conditions?.find((x) => x.type === 'Available')?.reason, 'MinimumReplicasUnavailable');
    assert.equal(d.status?.unavailableReplicas, 1);
  });

  test('proportional scaling mid-rollout (upstream example: 10 → 20 with surge 3, unavailable 2)', async () => {
    await dc.create(NS, deploy('prop', 10, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 3, maxUnavailable: 2 } } }));
    await env.eventually(() => rolledOut('prop'), 20_000, 'first rollout');
    await setImage('prop', 'never-ready');
    await env.eventually(async () => {
      const sizes = (await rsOf('prop')).map((r) => r.spec?.replicas).sort((a, b) => a! - b!);
      return JSON.stringify(sizes) === '[5,8]';
    }, 15_000, 'rollout stalls at old 8 / new 5');
    await dc.scale(NS, 'prop', 20);
    await env.eventually(async () => {
      const rss = await rsOf('prop');
      const img = (r: ReplicaSet) => r.spec?.template?.spec?.containers?.[0]?.image;
      const old = rss.find((r) => img(r) === 'nginx:1');
      const nw = rss.find((r) => img(r) === 'never-ready');
      return old?.spec?.replicas === 14 && nw?.spec?.replicas === 9;
    }, 15_000, 'old 14 / new 9');
  });
});
