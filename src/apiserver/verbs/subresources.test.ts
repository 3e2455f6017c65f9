import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ADMIN, deployment, paths, pod, startTestApiserver, TestApiserver } from '../testing.js';

let api: TestApiserver;
const issued: Array<Record<string, unknown>> = [];
before(async () => {
  api = await startTestApiserver({
    issueToken: (opts) => {
      issued.push(opts);
      const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const exp = Math.floor(Date.now() / 1000) + (opts.expirationSeconds ?? 3600);
      const token = `${b64({ alg: 'RS256', kid: 'test' })}.${b64({ sub: `system:serviceaccount:${opts.namespace}:${opts.name}`, aud: opts.audiences, exp })}.c2ln`;
      return { token, expirationTimestamp: new Date(exp * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') };
    },
    reviewToken: (token) => (token === 'good-token' ? { username: 'system:serviceaccount:default:sa1', uid: 'u1', groups: ['system:serviceaccounts'] } : undefined),
  });
});
after(() => api.close());

test('deployments/scale: get, merge patch, PUT without content type, stale resourceVersion', async () => {
  const c = await api.request('POST', paths.deploys(), { body: deployment('web', 2) });
  assert.equal(c.status, 201, c.text);
  const g = await api.request('GET', `${paths.deploy('web')}/scale`);
  assert.equal(g.status, 200, g.text);
  assert.equal(g.body.kind, 'Scale');
  assert.equal(g.body.apiVersion, 'autoscaling/v1');
  assert.equal(g.body.metadata.name, 'web');
  assert.equal(g.body.metadata.namespace, 'default');
  assert.equal(g.body.metadata.uid, c.body.metadata.uid);
  assert.equal(g.body.metadata.resourceVersion, c.body.metadata.resourceVersion);
  assert.equal(g.body.spec.replicas, 2);
  assert.equal(g.body.status.selector, 'app=web');
  assert.equal(g.body.status.replicas, 0);

  const p = await api.request('PATCH', `${paths.deploy('web')}/scale`, { body: { spec: { replicas: 3 } }, headers: { 'Content-Type': 'application/merge-patch+json' } });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.body.kind, 'Scale');
  assert.equal(p.body.spec.replicas, 3);
  const d = await api.request('GET', paths.deploy('web'));
  assert.equal(d.body.spec.replicas, 3);
  assert.equal(d.body.metadata.generation, 2);
  assert.equal(p.body.metadata.resourceVersion, d.body.metadata.resourceVersion);

  // kubectl scale --current-replicas: PUT the whole Scale, no Content-Type.
  const scale = { ...p.body, spec: { replicas: 4 } };
  const body = JSON.stringify(scale);
  const put = await api.request('PUT', `${paths.deploy('web')}/scale`, { body });
  assert.equal(put.status, 200, put.text);
  assert.equal(put.body.spec.replicas, 4);
  const stale = await api.request('PUT', `${paths.deploy('web')}/scale`, { body: JSON.stringify({ ...scale, spec: { replicas: 5 } }), headers: { 'Content-Type': 'application/json' } });
  assert.equal(stale.status, 409, stale.text);
  assert.equal(stale.body.reason, 'Conflict');
  const neg = await api.request('PATCH', `${paths.deploy('web')}/scale`, { body: { spec: { replicas: -1 } }, headers: { 'Content-Type': 'application/merge-patch+json' } });
  assert.equal(neg.status, 422, neg.text);
  const missing = await api.request('GET', `${paths.deploy('nope')}/scale`);
  assert.equal(missing.status, 404);
  assert.equal(missing.body.message, 'deployments.apps "nope" not found');
  const cmScale = await api.request('GET', '/api/v1/namespaces/default/configmaps/x/scale');
  assert.equal(cmScale.status, 404);
});

test('pods/binding sets nodeName and PodScheduled; a second binding is a conflict', async () => {
  await api.request('POST', paths.pods(), { body: pod('b1') });
  const binding = { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'b1' }, target: { apiVersion: 'v1', kind: 'Node', name: 'node-1' } };
  const r = await api.request('POST', `${paths.pod('b1')}/binding`, { body: binding });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.kind, 'Status');
  assert.equal(r.body.status, 'Success');
  const p = await api.request('GET', paths.pod('b1'));
  assert.equal(p.body.spec.nodeName, 'node-1');
  const cond = p.body.status.conditions.find((c: { type: string }) => c.type === 'PodScheduled');
  assert.equal(cond.status, 'True');
  const again = await api.request('POST', `${paths.pod('b1')}/binding`, { body: { ...binding, target: { kind: 'Node', name: 'node-2' } } });
  assert.equal(again.status, 409, again.text);
  assert.equal(again.body.reason, 'Conflict');
  assert.match(again.body.message, /already assigned to node "node-1"/);
  const missing = await api.request('POST', `${paths.pod('nope')}/binding`, { body: { ...binding, metadata: { name: 'nope' } } });
  assert.equal(missing.status, 404);
  // The scheduler also posts to the collection form: pods/binding with the pod named in metadata.
  await api.request('POST', paths.pods(), { body: pod('b2') });
});

test('serviceaccounts/token issues a TokenRequest', async () => {
  const sa = await api.request('POST', '/api/v1/namespaces/default/serviceaccounts', { body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sa1' } } });
  assert.equal(sa.status, 201, sa.text);
  const r = await api.request('POST', '/api/v1/namespaces/default/serviceaccounts/sa1/token', {
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: ['api'], expirationSeconds: 3600 } },
  });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.kind, 'TokenRequest');
  assert.equal(r.body.apiVersion, 'authentication.k8s.io/v1');
  assert.match(r.body.status.token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
  assert.match(r.body.status.expirationTimestamp, /Z$/);
  assert.deepEqual(r.body.spec.audiences, ['api']);
  const last = issued.at(-1)!;
  assert.equal(last.name, 'sa1');
  assert.equal(last.uid, sa.body.metadata.uid);
  const short = await api.request('POST', '/api/v1/namespaces/default/serviceaccounts/sa1/token', { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 60 } } });
  assert.equal(short.status, 422);
  const none = await api.request('POST', '/api/v1/namespaces/default/serviceaccounts/nope/token', { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} } });
  assert.equal(none.status, 404);
  assert.equal(none.body.message, 'serviceaccounts "nope" not found');
});

test('access and token reviews', async () => {
  const ssar = await api.request('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
    body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { verb: 'create', resource: 'pods', namespace: 'default' } } },
  });
  assert.equal(ssar.status, 201, ssar.text);
  assert.equal(ssar.body.kind, 'SelfSubjectAccessReview');
  assert.equal(ssar.body.status.allowed, true);
  const ssr = await api.request('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
  assert.equal(ssr.status, 201, ssr.text);
  assert.equal(ssr.body.status.userInfo.username, ADMIN.username);
  const good = await api.request('POST', '/apis/authentication.k8s.io/v1/tokenreviews', { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: 'good-token' } } });
  assert.equal(good.status, 201, good.text);
  assert.equal(good.body.status.authenticated, true);
  assert.equal(good.body.status.user.username, 'system:serviceaccount:default:sa1');
  const bad = await api.request('POST', '/apis/authentication.k8s.io/v1/tokenreviews', { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: 'bad' } } });
  assert.equal(bad.status, 201);
  assert.equal(bad.body.status.authenticated, false);
  const list = await api.request('GET', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews');
  assert.equal(list.status, 405, list.text);
});

test('HPA autoscaling/v1 ↔ v2 conversion', async () => {
  const hpa = {
    apiVersion: 'autoscaling/v1', kind: 'HorizontalPodAutoscaler', metadata: { name: 'h1' },
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 1, maxReplicas: 5, targetCPUUtilizationPercentage: 50 },
  };
  const c = await api.request('POST', '/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers', { body: hpa });
  assert.equal(c.status, 201, c.text);
  assert.equal(c.body.apiVersion, 'autoscaling/v1');
  assert.equal(c.body.spec.targetCPUUtilizationPercentage, 50);
  const v2 = await api.request('GET', '/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/h1');
  assert.equal(v2.status, 200, v2.text);
  assert.equal(v2.body.apiVersion, 'autoscaling/v2');
  assert.equal(v2.body.kind, 'HorizontalPodAutoscaler');
  assert.deepEqual(v2.body.spec.metrics, [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }]);
  assert.equal(v2.body.spec.targetCPUUtilizationPercentage, undefined);
  assert.equal(v2.body.metadata.resourceVersion, c.body.metadata.resourceVersion);
  const v1list = await api.request('GET', '/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers');
  assert.equal(v1list.body.items[0].spec.targetCPUUtilizationPercentage, 50);
  // Update through v2, read through v1.
  v2.body.spec.metrics[0].resource.target.averageUtilization = 70;
  const u = await api.request('PUT', '/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/h1', { body: v2.body });
  assert.equal(u.status, 200, u.text);
  const back = await api.request('GET', '/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers/h1');
  assert.equal(back.body.spec.targetCPUUtilizationPercentage, 70);
});

test('events.k8s.io/v1 Event is readable as a core v1 Event', async () => {
  const ev = {
    apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { name: 'ev1' },
    eventTime: '2026-01-01T00:00:00.000000Z', reportingController: 'skiff.io/test', reportingInstance: 'test-1',
    action: 'Testing', reason: 'Tested', note: 'the note', type: 'Normal',
    regarding: { kind: 'Pod', name: 'p', namespace: 'default', apiVersion: 'v1' },
  };
  const c = await api.request('POST', '/apis/events.k8s.io/v1/namespaces/default/events', { body: ev });
  assert.equal(c.status, 201, c.text);
  assert.equal(c.body.apiVersion, 'events.k8s.io/v1');
  assert.equal(c.body.note, 'the note');
  const core = await api.request('GET', '/api/v1/namespaces/default/events/ev1');
  assert.equal(core.status, 200, core.text);
  assert.equal(core.body.apiVersion, 'v1');
  assert.equal(core.body.kind, 'Event');
  assert.equal(core.body.message, 'the note');
  assert.equal(core.body.reason, 'Tested');
  assert.equal(core.body.involvedObject.name, 'p');
  assert.equal(core.body.reportingComponent, 'skiff.io/test');
  const list = await api.request('GET', '/api/v1/namespaces/default/events');
  assert.ok(list.body.items.some((e: { metadata: { name: string } }) => e.metadata.name === 'ev1'));
  // And the other way round.
  const coreEv = { apiVersion: 'v1', kind: 'Event', metadata: { name: 'ev2' }, involvedObject: { kind: 'Pod', name: 'p', namespace: 'default' }, reason: 'R', message: 'core message', type: 'Warning', source: { component: 'kubelet' } };
  const c2 = await api.request('POST', '/api/v1/namespaces/default/events', { body: coreEv });
  assert.equal(c2.status, 201, c2.text);
  const asNew = await api.request('GET', '/apis/events.k8s.io/v1/namespaces/default/events/ev2');
  assert.equal(asNew.status, 200, asNew.text);
  assert.equal(asNew.body.note, 'core message');
  assert.equal(asNew.body.regarding.name, 'p');
});
