import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { configMap, deployment, paths, startTestApiserver, TestApiserver } from '../testing.js';

let api: TestApiserver;
before(async () => { api = await startTestApiserver(); });
after(() => api.close());

const MERGE = { 'Content-Type': 'application/merge-patch+json' };
const JSONPATCH = { 'Content-Type': 'application/json-patch+json' };
const SMP = { 'Content-Type': 'application/strategic-merge-patch+json' };
const APPLY = { 'Content-Type': 'application/apply-patch+yaml' };

test('PUT: optimistic concurrency, unconditional update, no-op keeps the resourceVersion', async () => {
  const c = await api.request('POST', paths.cms(), { body: configMap('u1') });
  const rv1 = c.body.metadata.resourceVersion;
  const u = await api.request('PUT', paths.cm('u1'), { body: { ...c.body, data: { k: 'v2' } } });
  assert.equal(u.status, 200, u.text);
  assert.notEqual(u.body.metadata.resourceVersion, rv1);
  assert.equal(u.body.metadata.uid, c.body.metadata.uid);
  assert.equal(u.body.metadata.creationTimestamp, c.body.metadata.creationTimestamp);
  const stale = await api.request('PUT', paths.cm('u1'), { body: { ...c.body, data: { k: 'v3' } } });
  assert.equal(stale.status, 409, stale.text);
  assert.equal(stale.body.reason, 'Conflict');
  assert.equal(stale.body.message, 'Operation cannot be fulfilled on configmaps "u1": the object has been modified; please apply your changes to the latest version and try again');
  assert.deepEqual({ name: stale.body.details.name, kind: stale.body.details.kind }, { name: 'u1', kind: 'configmaps' });
  const uncond = await api.request('PUT', paths.cm('u1'), { body: configMap('u1', { k: 'v4' }) });
  assert.equal(uncond.status, 200, uncond.text);
  assert.equal(uncond.body.data.k, 'v4');
  const noop = await api.request('PUT', paths.cm('u1'), { body: uncond.body });
  assert.equal(noop.status, 200);
  assert.equal(noop.body.metadata.resourceVersion, uncond.body.metadata.resourceVersion);
  const cases: Array<{ name: string; path: string; body: unknown; status: number; reason: string }> = [
    { name: 'missing', path: paths.cm('nope'), body: configMap('nope'), status: 404, reason: 'NotFound' },
    { name: 'name mismatch', path: paths.cm('u1'), body: configMap('other'), status: 400, reason: 'BadRequest' },
    { name: 'namespace mismatch', path: paths.cm('u1'), body: { ...configMap('u1'), metadata: { name: 'u1', namespace: 'kube-system' } }, status: 400, reason: 'BadRequest' },
    { name: 'invalid', path: paths.cm('u1'), body: { ...configMap('u1'), data: { 'bad key!': 'x' } }, status: 422, reason: 'Invalid' },
    { name: 'strict unknown', path: `${paths.cm('u1')}?fieldValidation=Strict`, body: { ...configMap('u1'), zap: 1 }, status: 400, reason: 'BadRequest' },
  ];
  for (const cs of cases) {
    const r = await api.request('PUT', cs.path, { body: cs.body });
    assert.equal(r.status, cs.status, `${cs.name}: ${r.text}`);
    assert.equal(r.body.reason, cs.reason, cs.name);
  }
});

test('PUT on a deployment: generation tracks spec only; status ignored; immutable selector', async () => {
  const c = await api.request('POST', paths.deploys(), { body: deployment('gen') });
  assert.equal(c.status, 201, c.text);
  const labelled = structuredClone(c.body);
  labelled.metadata.labels = { x: 'y' };
  labelled.status = { replicas: 5 };
  const l = await api.request('PUT', paths.deploy('gen'), { body: labelled });
  assert.equal(l.status, 200, l.text);
  assert.equal(l.body.metadata.generation, 1, 'label change keeps the generation');
  assert.equal(l.body.metadata.labels.x, 'y');
  assert.ok(!l.body.status || l.body.status.replicas === undefined, 'status ignored on the main resource');
  const scaled = structuredClone(l.body);
  scaled.spec.replicas = 3;
  const s = await api.request('PUT', paths.deploy('gen'), { body: scaled });
  assert.equal(s.body.metadata.generation, 2);
  const sel = structuredClone(s.body);
  sel.spec.selector = { matchLabels: { app: 'other' } };
  sel.spec.template.metadata.labels = { app: 'other' };
  const bad = await api.request('PUT', paths.deploy('gen'), { body: sel });
  assert.equal(bad.status, 422, bad.text);
  assert.equal(bad.body.reason, 'Invalid');
  assert.ok(bad.body.details.causes.some((c: { field: string }) => c.field === 'spec.selector'), JSON.stringify(bad.body.details));
});

test('status subresource ignores spec and metadata', async () => {
  const c = await api.request('POST', paths.deploys(), { body: deployment('st') });
  const body = structuredClone(c.body);
  body.spec.replicas = 9;
  body.metadata.labels = { sneaky: 'yes' };
  body.status = { replicas: 2, readyReplicas: 1, observedGeneration: 1 };
  const r = await api.request('PUT', `${paths.deploy('st')}/status`, { body });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status.replicas, 2);
  assert.equal(r.body.spec.replicas, 1);
  assert.equal(r.body.metadata.labels, undefined);
  assert.equal(r.body.metadata.generation, 1);
  const p = await api.request('PATCH', `${paths.deploy('st')}/status`, { body: { status: { readyReplicas: 2 }, spec: { replicas: 4 } }, headers: MERGE });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.body.status.readyReplicas, 2);
  assert.equal(p.body.spec.replicas, 1);
  const g = await api.request('GET', `${paths.deploy('st')}/status`);
  assert.equal(g.status, 200);
  assert.equal(g.body.kind, 'Deployment');
  const stale = await api.request('PUT', `${paths.deploy('st')}/status`, { body: c.body });
  assert.equal(stale.status, 409);
  const cmStatus = await api.request('GET', `${paths.cm('x')}/status`);
  assert.equal(cmStatus.status, 404);
});

test('PATCH types', async () => {
  await api.request('POST', paths.cms(), { body: configMap('p1', { a: '1', b: '2' }) });
  const merge = await api.request('PATCH', paths.cm('p1'), { body: { data: { a: null, c: '3' } }, headers: MERGE });
  assert.equal(merge.status, 200, merge.text);
  assert.deepEqual(merge.body.data, { b: '2', c: '3' });
  const jp = await api.request('PATCH', paths.cm('p1'), { body: [{ op: 'test', path: '/data/b', value: '2' }, { op: 'replace', path: '/data/b', value: '20' }], headers: JSONPATCH });
  assert.equal(jp.status, 200, jp.text);
  assert.equal(jp.body.data.b, '20');
  const jpFail = await api.request('PATCH', paths.cm('p1'), { body: [{ op: 'test', path: '/data/b', value: 'nope' }], headers: JSONPATCH });
  assert.equal(jpFail.status, 422, jpFail.text);
  assert.equal(jpFail.body.reason, 'Invalid');
  const stale = await api.request('PATCH', paths.cm('p1'), { body: { metadata: { resourceVersion: '1' }, data: { z: '1' } }, headers: MERGE });
  assert.equal(stale.status, 409, stale.text);
  assert.equal(stale.body.reason, 'Conflict');
  const missing = await api.request('PATCH', paths.cm('nope'), { body: { data: {} }, headers: MERGE });
  assert.equal(missing.status, 404);
  assert.equal(missing.body.message, 'configmaps "nope" not found');
  const unsupported = await api.request('PATCH', paths.cm('p1'), { body: { data: {} }, headers: { 'Content-Type': 'application/json' } });
  assert.equal(unsupported.status, 415, unsupported.text);
  assert.equal(unsupported.body.reason, 'UnsupportedMediaType');
  const badJson = await api.request('PATCH', paths.cm('p1'), { body: '{', headers: MERGE });
  assert.equal(badJson.status, 400, badJson.text);
  const noop = await api.request('PATCH', paths.cm('p1'), { body: { data: { b: '20' } }, headers: MERGE });
  assert.equal(noop.body.metadata.resourceVersion, jp.body.metadata.resourceVersion);
  const strict = await api.request('PATCH', `${paths.cm('p1')}?fieldValidation=Strict`, { body: { bogus: 1 }, headers: MERGE });
  assert.equal(strict.status, 400);
  assert.match(strict.body.message, /^strict decoding error: unknown field "bogus"$/);
  const warn = await api.request('PATCH', paths.cm('p1'), { body: { bogus: 1 }, headers: MERGE });
  assert.equal(warn.status, 200);
  assert.match(String(warn.headers.warning), /unknown field/);
  assert.equal(warn.body.bogus, undefined);
  const dry = await api.request('PATCH', `${paths.cm('p1')}?dryRun=All`, { body: { data: { dry: 'y' } }, headers: MERGE });
  assert.equal(dry.body.data.dry, 'y');
  assert.equal((await api.request('GET', paths.cm('p1'))).body.data.dry, undefined);
});

test('strategic merge patch as kubectl apply sends it', async () => {
  const d = deployment('smp');
  (d.spec as any).template.spec.containers.push({ name: 'c2', image: 'redis:1' });
  await api.request('POST', paths.deploys(), { body: d });
  const body = {
    metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}\n' } },
    spec: { replicas: 2, template: { spec: { $setElementOrder: undefined, '$setElementOrder/containers': [{ name: 'c2' }, { name: 'c1' }], containers: [{ image: 'nginx:2', name: 'c1' }] } } },
  };
  const r = await api.request('PATCH', `${paths.deploy('smp')}?fieldManager=kubectl-client-side-apply&fieldValidation=Strict`, { body, headers: SMP });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.spec.replicas, 2);
  const cs = r.body.spec.template.spec.containers;
  assert.deepEqual(cs.map((c: { name: string; image: string }) => `${c.name}=${c.image}`), ['c2=redis:1', 'c1=nginx:2']);
  assert.equal(r.body.metadata.generation, 2);
  assert.ok(r.body.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']);
});

test('server-side apply creates (201) then updates (200)', async () => {
  const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ssa' }, data: { a: '1' } });
  const c = await api.request('PATCH', `${paths.cm('ssa')}?fieldManager=kubectl&fieldValidation=Strict&force=false`, { body, headers: APPLY });
  assert.equal(c.status, 201, c.text);
  assert.equal(c.body.data.a, '1');
  assert.ok(c.body.metadata.uid);
  const yaml = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  a: "2"\n';
  const u = await api.request('PATCH', `${paths.cm('ssa')}?fieldManager=kubectl&force=false`, { body: yaml, headers: APPLY });
  assert.equal(u.status, 200, u.text);
  assert.equal(u.body.data.a, '2');
  assert.equal(u.body.metadata.uid, c.body.metadata.uid);
  const wrong = await api.request('PATCH', paths.cm('ssa'), { body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'other' } }), headers: APPLY });
  assert.equal(wrong.status, 400, wrong.text);
  const dryCreate = await api.request('PATCH', `${paths.cm('ssa-dry')}?dryRun=All&fieldManager=kubectl`, { body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ssa-dry' } }), headers: APPLY });
  assert.equal(dryCreate.status, 201, dryCreate.text);
  assert.equal((await api.request('GET', paths.cm('ssa-dry'))).status, 404);
});

test('PUT creates missing objects only where upstream allows create-on-update', async () => {
  const lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l1' }, spec: { holderIdentity: 'me' } };
  const withRv = await api.request('PUT', '/apis/coordination.k8s.io/v1/namespaces/default/leases/l1', { body: { ...lease, metadata: { name: 'l1', resourceVersion: '5' } } });
  assert.equal(withRv.status, 404, withRv.text);
  const c = await api.request('PUT', '/apis/coordination.k8s.io/v1/namespaces/default/leases/l1', { body: lease });
  assert.equal(c.status, 201, c.text);
  assert.ok(c.body.metadata.uid);
  const u = await api.request('PUT', '/apis/coordination.k8s.io/v1/namespaces/default/leases/l1', { body: { ...c.body, spec: { holderIdentity: 'you' } } });
  assert.equal(u.status, 200, u.text);
  assert.equal(u.body.spec.holderIdentity, 'you');
  const cm = await api.request('PUT', paths.cm('never'), { body: configMap('never') });
  assert.equal(cm.status, 404);
  const ns = await api.request('PUT', '/apis/coordination.k8s.io/v1/namespaces/nope/leases/l1', { body: lease });
  assert.equal(ns.status, 404);
  assert.equal(ns.body.message, 'namespaces "nope" not found');
});

test('namespace update keeps spec.finalizers and status', async () => {
  const c = await api.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'nsu' }, status: { phase: 'Terminating' } } });
  assert.equal(c.status, 201, c.text);
  assert.deepEqual(c.body.status, { phase: 'Active' }, 'a new namespace is Active whatever the request says');
  assert.deepEqual(c.body.spec.finalizers, ['kubernetes']);
  assert.equal(c.body.metadata.labels['kubernetes.io/metadata.name'], 'nsu');
  const u = await api.request('PUT', '/api/v1/namespaces/nsu', { body: { ...c.body, metadata: { ...c.body.metadata, labels: { a: 'b' } }, spec: { finalizers: [] }, status: { phase: 'Terminating' } } });
  assert.equal(u.status, 200, u.text);
  assert.deepEqual(u.body.spec.finalizers, ['kubernetes']);
  assert.equal(u.body.status.phase, 'Active');
  assert.equal(u.body.metadata.labels.a, 'b');
  assert.equal(u.body.metadata.labels['kubernetes.io/metadata.name'], 'nsu');
});

test('PUT with the UID of a deleted-and-recreated object is a conflict', async () => {
  const first = await api.request('POST', paths.cms(), { body: configMap('reborn') });
  await api.request('DELETE', paths.cm('reborn'));
  const second = await api.request('POST', paths.cms(), { body: configMap('reborn', { k: 'new' }) });
  const stale = { ...first.body, metadata: { ...first.body.metadata, resourceVersion: undefined }, data: { k: 'old' } };
  const r = await api.request('PUT', paths.cm('reborn'), { body: stale });
  assert.equal(r.status, 409, r.text);
  assert.equal(r.body.message, `Operation cannot be fulfilled on configmaps "reborn": Precondition failed: UID in precondition: ${first.body.metadata.uid}, UID in object meta: ${second.body.metadata.uid}`);
  const ok = await api.request('PUT', paths.cm('reborn'), { body: { ...second.body, data: { k: 'newer' } } });
  assert.equal(ok.status, 200, ok.text);
});

test('PUT and PATCH answer the stored object; sending back any answer unchanged is a no-op', async () => {
  const c = await api.request('POST', paths.cms(), { body: configMap('echo', { k: 'v1' }) });
  assert.equal(c.status, 201, c.text);
  // The create answer (resourceVersion spliced first into metadata) sent back unchanged: no write.
  const same = await api.request('PUT', paths.cm('echo'), { body: c.body });
  assert.equal(same.status, 200, same.text);
  assert.equal(same.body.metadata.resourceVersion, c.body.metadata.resourceVersion);
  const p = await api.request('PATCH', paths.cm('echo'), { body: { data: { k: 'v2' } }, headers: MERGE });
  assert.equal(p.status, 200, p.text);
  assert.notEqual(p.body.metadata.resourceVersion, c.body.metadata.resourceVersion);
  const got = await api.request('GET', paths.cm('echo'));
  // Same object as a GET answers (key order aside).
  assert.deepEqual(p.body, got.body);
  const u = await api.request('PUT', paths.cm('echo'), { body: { ...p.body, data: { k: 'v3' } } });
  assert.equal(u.status, 200, u.text);
  assert.deepEqual(u.body, (await api.request('GET', paths.cm('echo'))).body);
  // The update answer sent back unchanged: no write either.
  const again = await api.request('PUT', paths.cm('echo'), { body: u.body });
  assert.equal(again.body.metadata.resourceVersion, u.body.metadata.resourceVersion);
});

test('merge patch field checks: mistyped, unknown and deleted fields, Ignore and a bad fieldValidation', async () => {
  await api.request('POST', paths.cms(), { body: configMap('pchk', { a: '1' }) });
  const typed = await api.request('PATCH', paths.cm('pchk'), { body: { data: { a: 1 } }, headers: MERGE });
  assert.equal(typed.status, 400, typed.text);
  assert.equal(typed.body.reason, 'BadRequest');
  assert.equal(typed.body.message, 'json: cannot unmarshal number into Go struct field ConfigMap.data of type string');
  const ignore = await api.request('PATCH', `${paths.cm('pchk')}?fieldValidation=Ignore`, { body: { zap: 1, data: { b: '2' } }, headers: MERGE });
  assert.equal(ignore.status, 200, ignore.text);
  assert.equal(ignore.headers.warning, undefined);
  assert.equal(ignore.body.zap, undefined);
  const bad = await api.request('PATCH', `${paths.cm('pchk')}?fieldValidation=Nope`, { body: { data: { c: '3' } }, headers: MERGE });
  assert.equal(bad.status, 400, bad.text);
  const clean = await api.request('PATCH', `${paths.cm('pchk')}?fieldValidation=Strict`, { body: { metadata: { labels: { x: 'y', gone: null } }, data: { c: '3' } }, headers: MERGE });
  assert.equal(clean.status, 200, clean.text);
  assert.equal(clean.headers.warning, undefined);
  assert.deepEqual(clean.body.data, { a: '1', b: '2', c: '3' });
  const nested = await api.request('PATCH', paths.cm('pchk'), { body: { metadata: { bogus: { deep: 1 } } }, headers: MERGE });
  assert.equal(nested.status, 200, nested.text);
  assert.equal(String(nested.headers.warning), `299 - "unknown field \\"metadata.bogus\\""`);
});
