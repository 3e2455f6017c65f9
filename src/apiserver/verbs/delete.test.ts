import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { configMap, paths, pod, startTestApiserver, TestApiserver } from '../testing.js';

let api: TestApiserver;
before(async () => { api = await startTestApiserver(); });
after(() => api.close());

const MERGE = { 'Content-Type': 'application/merge-patch+json' };

test('DELETE answers: Status for configmaps, the object for pods', async () => {
  const c = await api.request('POST', paths.cms(), { body: configMap('d1') });
  const r = await api.request('DELETE', paths.cm('d1'), { body: { propagationPolicy: 'Background' } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.kind, 'Status');
  assert.equal(r.body.status, 'Success');
  assert.equal(r.body.details.name, 'd1');
  assert.equal(r.body.details.kind, 'configmaps');
  assert.equal(r.body.details.uid, c.body.metadata.uid);
  assert.equal('group' in r.body.details, false, 'empty group omitted as upstream (omitempty)');
  assert.equal((await api.request('GET', paths.cm('d1'))).status, 404);
  const again = await api.request('DELETE', paths.cm('d1'));
  assert.equal(again.status, 404);
  assert.equal(again.body.message, 'configmaps "d1" not found');

  await api.request('POST', paths.pods(), { body: pod('p-unbound') });
  const p = await api.request('DELETE', paths.pod('p-unbound'));
  assert.equal(p.status, 200, p.text);
  assert.equal(p.body.kind, 'Pod');
  assert.equal(p.body.metadata.name, 'p-unbound');
  assert.equal((await api.request('GET', paths.pod('p-unbound'))).status, 404, 'unbound pod deleted immediately');
});

test('preconditions', async () => {
  const c = await api.request('POST', paths.cms(), { body: configMap('pre') });
  const cases = [
    { name: 'uid', body: { preconditions: { uid: 'other-uid' } }, message: /Precondition failed: UID in precondition: other-uid, UID in object meta: / },
    { name: 'rv', body: { preconditions: { resourceVersion: '1' } }, message: /Precondition failed: ResourceVersion in precondition: 1, ResourceVersion in object meta: \d+/ },
  ];
  for (const cs of cases) {
    const r = await api.request('DELETE', paths.cm('pre'), { body: cs.body });
    assert.equal(r.status, 409, `${cs.name}: ${r.text}`);
    assert.equal(r.body.reason, 'Conflict');
    assert.match(r.body.message, cs.message);
  }
  const ok = await api.request('DELETE', paths.cm('pre'), { body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: c.body.metadata.uid, resourceVersion: c.body.metadata.resourceVersion } } });
  assert.equal(ok.status, 200, ok.text);
  const bad = await api.request('DELETE', paths.cm('whatever'), { body: { propagationPolicy: 'Sideways' } });
  assert.equal(bad.status, 422, bad.text);
});

test('finalizers keep the object until the last one is removed', async () => {
  await api.request('POST', paths.cms(), { body: { ...configMap('fin'), metadata: { name: 'fin', finalizers: ['example.com/a', 'example.com/b'] } } });
  const w = await api.watch(`${paths.cms()}?watch=true&fieldSelector=metadata.name%3Dfin`);
  await w.waitFor(1);
  const r = await api.request('DELETE', paths.cm('fin'));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.kind, 'ConfigMap', 'a marked object is returned, not a Status');
  assert.ok(r.body.metadata.deletionTimestamp);
  assert.equal(r.body.metadata.deletionGracePeriodSeconds, 0);
  const g = await api.request('GET', paths.cm('fin'));
  assert.equal(g.status, 200);
  assert.ok(g.body.metadata.deletionTimestamp);
  // A second DELETE is harmless.
  const r2 = await api.request('DELETE', paths.cm('fin'));
  assert.equal(r2.status, 200);
  assert.equal(r2.body.metadata.deletionTimestamp, r.body.metadata.deletionTimestamp);
  // Adding a finalizer to an object being deleted is refused upstream; removing is allowed.
  const add = await api.request('PATCH', paths.cm('fin'), { body: { metadata: { finalizers: ['example.com/a', 'example.com/b', 'example.com/c'] } }, headers: MERGE });
  assert.equal(add.status, 422, add.text);
  const one = await api.request('PATCH', paths.cm('fin'), { body: { metadata: { finalizers: ['example.com/b'] } }, headers: MERGE });
  assert.equal(one.status, 200, one.text);
  assert.equal((await api.request('GET', paths.cm('fin'))).status, 200);
  const last = await api.request('PATCH', paths.cm('fin'), { body: { metadata: { finalizers: null } }, headers: MERGE });
  assert.equal(last.status, 200, last.text);
  assert.equal((await api.request('GET', paths.cm('fin'))).status, 404);
  const evs = await w.waitFor(4);
  assert.deepEqual(evs.map((e) => e.type), ['ADDED', 'MODIFIED', 'MODIFIED', 'DELETED']);
  w.close();
});

test('pods bound to a node are deleted gracefully', async () => {
  await api.request('POST', paths.pods(), { body: pod('bound', { nodeName: 'n1' }) });
  const r = await api.request('DELETE', paths.pod('bound'));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.metadata.deletionGracePeriodSeconds, 30);
  assert.ok(r.body.metadata.deletionTimestamp);
  const ts = Date.parse(r.body.metadata.deletionTimestamp);
  assert.ok(Math.abs(ts - (Date.now() + 30_000)) < 5_000, 'deletionTimestamp is now + grace');
  assert.equal((await api.request('GET', paths.pod('bound'))).status, 200);
  // Shortening is allowed, lengthening is not.
  const shorter = await api.request('DELETE', paths.pod('bound'), { body: { gracePeriodSeconds: 10 } });
  assert.equal(shorter.body.metadata.deletionGracePeriodSeconds, 10);
  const longer = await api.request('DELETE', paths.pod('bound'), { body: { gracePeriodSeconds: 60 } });
  assert.equal(longer.body.metadata.deletionGracePeriodSeconds, 10);
  // The kubelet confirms with grace 0.
  const now = await api.request('DELETE', `${paths.pod('bound')}?gracePeriodSeconds=0`);
  assert.equal(now.status, 200);
  assert.equal((await api.request('GET', paths.pod('bound'))).status, 404);

  await api.request('POST', paths.pods(), { body: pod('custom', { nodeName: 'n1', terminationGracePeriodSeconds: 5 }) });
  const c = await api.request('DELETE', paths.pod('custom'));
  assert.equal(c.body.metadata.deletionGracePeriodSeconds, 5);
  await api.request('POST', paths.pods(), { body: pod('custom2', { nodeName: 'n1' }) });
  const c2 = await api.request('DELETE', paths.pod('custom2'), { body: { gracePeriodSeconds: 7 } });
  assert.equal(c2.body.metadata.deletionGracePeriodSeconds, 7);
});

test('namespace delete → Terminating, kept until finalized', async () => {
  await api.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'gone' } } });
  const r = await api.request('DELETE', '/api/v1/namespaces/gone');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.kind, 'Namespace');
  assert.equal(r.body.status.phase, 'Terminating');
  assert.ok(r.body.metadata.deletionTimestamp);
  const g = await api.request('GET', '/api/v1/namespaces/gone');
  assert.equal(g.body.status.phase, 'Terminating');
  assert.deepEqual(g.body.spec.finalizers, ['kubernetes']);
  const fin = await api.request('PUT', '/api/v1/namespaces/gone/finalize', { body: { ...g.body, spec: { finalizers: [] } } });
  assert.equal(fin.status, 200, fin.text);
  assert.equal((await api.request('GET', '/api/v1/namespaces/gone')).status, 404);
});

test('deletecollection with a labelSelector', async () => {
  for (const [n, l] of [['dc-1', 'x'], ['dc-2', 'x'], ['dc-3', 'y']]) await api.request('POST', paths.cms(), { body: configMap(n, {}, { grp: l }) });
  const r = await api.request('DELETE', `${paths.cms()}?labelSelector=grp%3Dx`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.kind, 'ConfigMapList');
  assert.deepEqual(r.body.items.map((i: { metadata: { name: string } }) => i.metadata.name).sort(), ['dc-1', 'dc-2']);
  const left = await api.request('GET', `${paths.cms()}?labelSelector=grp`);
  assert.deepEqual(left.body.items.map((i: { metadata: { name: string } }) => i.metadata.name), ['dc-3']);
});

test('dryRun delete keeps the object', async () => {
  await api.request('POST', paths.cms(), { body: configMap('dry-del') });
  const r = await api.request('DELETE', `${paths.cm('dry-del')}?dryRun=All`);
  assert.equal(r.status, 200);
  assert.equal((await api.request('GET', paths.cm('dry-del'))).status, 200);
});
