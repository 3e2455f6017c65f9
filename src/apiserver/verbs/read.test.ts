import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { configMap, paths, startTestApiserver, TestApiserver } from '../testing.js';

let api: TestApiserver;
before(async () => {
  api = await startTestApiserver();
  await api.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'other' } } });
  for (let i = 0; i < 7; i++) {
    const r = await api.request('POST', paths.cms(), { body: configMap(`cm-${i}`, { i: String(i) }, { app: i % 2 ? 'odd' : 'even', idx: String(i) }) });
    assert.equal(r.status, 201, r.text);
  }
  await api.request('POST', paths.cms('other'), { body: configMap('cm-other', {}, { app: 'odd' }) });
});
after(() => api.close());

const names = (b: { items: Array<{ metadata: { name: string } }> }) => b.items.map((i) => i.metadata.name);

test('list shapes and selectors', async () => {
  const cases: Array<{ name: string; path: string; want: string[]; status?: number }> = [
    { name: 'all in default', path: paths.cms(), want: ['cm-0', 'cm-1', 'cm-2', 'cm-3', 'cm-4', 'cm-5', 'cm-6'] },
    { name: 'labelSelector', path: `${paths.cms()}?labelSelector=app%3Dodd`, want: ['cm-1', 'cm-3', 'cm-5'] },
    { name: 'labelSelector set', path: `${paths.cms()}?labelSelector=${encodeURIComponent('idx in (1,2),app!=odd')}`, want: ['cm-2'] },
    { name: 'fieldSelector name', path: `${paths.cms()}?fieldSelector=metadata.name%3Dcm-4`, want: ['cm-4'] },
    { name: 'fieldSelector !=', path: `${paths.cms()}?fieldSelector=${encodeURIComponent('metadata.name!=cm-4')}&labelSelector=app%3Deven`, want: ['cm-0', 'cm-2', 'cm-6'] },
    { name: 'cluster-wide', path: `/api/v1/configmaps?labelSelector=app%3Dodd`, want: ['cm-1', 'cm-3', 'cm-5', 'cm-other'] },
    { name: 'bad label selector', path: `${paths.cms()}?labelSelector=${encodeURIComponent('a in (')}`, want: [], status: 400 },
    { name: 'bad field selector', path: `${paths.cms()}?fieldSelector=spec.bogus%3Dx`, want: [], status: 400 },
  ];
  for (const c of cases) {
    const r = await api.request('GET', c.path);
    assert.equal(r.status, c.status ?? 200, `${c.name}: ${r.text}`);
    if (r.status !== 200) { assert.equal(r.body.kind, 'Status'); continue; }
    assert.equal(r.body.kind, 'ConfigMapList', c.name);
    assert.equal(r.body.apiVersion, 'v1', c.name);
    assert.match(r.body.metadata.resourceVersion, /^\d+$/);
    assert.deepEqual(names(r.body).sort(), c.want, c.name);
    for (const it of r.body.items) {
      assert.equal(it.kind, 'ConfigMap');
      assert.equal(it.apiVersion, 'v1');
    }
  }
  const cw = await api.request('GET', '/api/v1/configmaps');
  assert.ok(cw.body.items.some((i: { metadata: { namespace: string } }) => i.metadata.namespace === 'other'));
});

test('limit + continue pages a consistent snapshot', async () => {
  const p1 = await api.request('GET', `${paths.cms()}?limit=3`);
  assert.equal(p1.status, 200);
  assert.deepEqual(names(p1.body), ['cm-0', 'cm-1', 'cm-2']);
  const token = p1.body.metadata.continue;
  assert.ok(token, 'continue token set');
  const listRv = p1.body.metadata.resourceVersion;
  // Writes between pages are not seen by the continuation.
  await api.request('POST', paths.cms(), { body: configMap('cm-45') });
  await api.request('DELETE', paths.cm('cm-5'));
  const p2 = await api.request('GET', `${paths.cms()}?limit=3&continue=${encodeURIComponent(token)}`);
  assert.equal(p2.status, 200, p2.text);
  assert.deepEqual(names(p2.body), ['cm-3', 'cm-4', 'cm-5']);
  assert.equal(p2.body.metadata.resourceVersion, listRv);
  const p3 = await api.request('GET', `${paths.cms()}?limit=3&continue=${encodeURIComponent(p2.body.metadata.continue)}`);
  assert.deepEqual(names(p3.body), ['cm-6']);
  assert.equal(p3.body.metadata.continue, undefined);
  // Selector + limit: pages count matching items.
  const s1 = await api.request('GET', `${paths.cms()}?limit=2&labelSelector=app%3Deven`);
  assert.deepEqual(names(s1.body), ['cm-0', 'cm-2']);
  const s2 = await api.request('GET', `${paths.cms()}?limit=2&labelSelector=app%3Deven&continue=${encodeURIComponent(s1.body.metadata.continue)}`);
  assert.deepEqual(names(s2.body), ['cm-4', 'cm-6']);
  assert.equal(s2.body.metadata.continue, undefined);
  // restore
  await api.request('POST', paths.cms(), { body: configMap('cm-5', { i: '5' }, { app: 'odd', idx: '5' }) });
  await api.request('DELETE', paths.cm('cm-45'));
});

test('remainingItemCount is not required, but an exact page end has no continue', async () => {
  const r = await api.request('GET', `${paths.cms()}?limit=7`);
  assert.equal(r.body.items.length, 7);
  assert.equal(r.body.metadata.continue, undefined);
});

test('resourceVersion semantics', async () => {
  const before = await api.request('GET', paths.cm('cm-0'));
  const oldRv = before.body.metadata.resourceVersion;
  const upd = await api.request('PUT', paths.cm('cm-0'), { body: { ...before.body, data: { i: 'changed' } } });
  assert.equal(upd.status, 200, upd.text);
  const zero = await api.request('GET', `${paths.cms()}?resourceVersion=0`);
  assert.equal(zero.status, 200);
  assert.equal(zero.body.items.find((i: { metadata: { name: string } }) => i.metadata.name === 'cm-0').data.i, 'changed');
  const exact = await api.request('GET', `${paths.cms()}?resourceVersion=${oldRv}&resourceVersionMatch=Exact`);
  assert.equal(exact.status, 200, exact.text);
  assert.equal(exact.body.metadata.resourceVersion, oldRv);
  assert.equal(exact.body.items.find((i: { metadata: { name: string } }) => i.metadata.name === 'cm-0').data.i, '0');
  const notOlder = await api.request('GET', `${paths.cms()}?resourceVersion=${oldRv}&resourceVersionMatch=NotOlderThan`);
  assert.equal(notOlder.status, 200);
  assert.ok(Number(notOlder.body.metadata.resourceVersion) >= Number(upd.body.metadata.resourceVersion));
  const cases: Array<{ name: string; q: string; status: number; reason: string }> = [
    { name: 'Exact without rv', q: 'resourceVersionMatch=Exact', status: 400, reason: 'BadRequest' },
    { name: 'bad match', q: 'resourceVersion=1&resourceVersionMatch=Sometime', status: 400, reason: 'BadRequest' },
    { name: 'bad rv', q: 'resourceVersion=abc', status: 400, reason: 'BadRequest' },
    { name: 'future rv', q: 'resourceVersion=999999', status: 504, reason: 'Timeout' },
    { name: 'bad continue', q: 'continue=not-a-token', status: 400, reason: 'BadRequest' },
    { name: 'bad limit', q: 'limit=abc', status: 400, reason: 'BadRequest' },
  ];
  for (const c of cases) {
    const r = await api.request('GET', `${paths.cms()}?${c.q}`);
    assert.equal(r.status, c.status, `${c.name}: ${r.text}`);
    assert.equal(r.body.reason, c.reason, c.name);
  }
});

test('Table and PartialObjectMetadata representations', async () => {
  const kubectlAccept = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
  const t = await api.request('GET', `${paths.cms()}?limit=500`, { headers: { Accept: kubectlAccept } });
  assert.equal(t.status, 200, t.text);
  assert.equal(t.body.kind, 'Table');
  assert.equal(t.body.apiVersion, 'meta.k8s.io/v1');
  assert.match(t.body.metadata.resourceVersion, /^\d+$/);
  assert.ok(t.body.columnDefinitions.length >= 2);
  const nameCol = t.body.columnDefinitions[0];
  assert.equal(nameCol.name, 'Name');
  assert.equal(nameCol.format, 'name');
  assert.equal(typeof nameCol.priority, 'number');
  assert.equal(t.body.rows.length, 7);
  assert.equal(t.body.rows[0].cells[0], 'cm-0');
  assert.equal(t.body.rows[0].object.kind, 'PartialObjectMetadata');
  assert.equal(t.body.rows[0].object.apiVersion, 'meta.k8s.io/v1');
  assert.equal(t.body.rows[0].object.metadata.name, 'cm-0');
  assert.equal(t.body.rows[0].object.metadata.labels.app, 'even');
  // includeObject=Object gives the full object; None gives none.
  const full = await api.request('GET', `${paths.cms()}?includeObject=Object`, { headers: { Accept: kubectlAccept } });
  assert.equal(full.body.rows[0].object.kind, 'ConfigMap');
  const none = await api.request('GET', `${paths.cms()}?includeObject=None`, { headers: { Accept: kubectlAccept } });
  assert.equal(none.body.rows[0].object, undefined);
  // v1beta1 table
  const beta = await api.request('GET', paths.cm('cm-1'), { headers: { Accept: 'application/json;as=Table;v=v1beta1;g=meta.k8s.io' } });
  assert.equal(beta.body.apiVersion, 'meta.k8s.io/v1beta1');
  assert.equal(beta.body.rows.length, 1);
  // Table of a single object.
  const one = await api.request('GET', paths.cm('cm-1'), { headers: { Accept: kubectlAccept } });
  assert.equal(one.body.kind, 'Table');
  assert.equal(one.body.rows[0].cells[0], 'cm-1');
  // Paging in Table form.
  const tp = await api.request('GET', `${paths.cms()}?limit=2`, { headers: { Accept: kubectlAccept } });
  assert.ok(tp.body.metadata.continue);

  const pl = await api.request('GET', paths.cms(), { headers: { Accept: 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json' } });
  assert.equal(pl.status, 200);
  assert.equal(pl.body.kind, 'PartialObjectMetadataList');
  assert.equal(pl.body.apiVersion, 'meta.k8s.io/v1');
  assert.equal(pl.body.items[0].kind, 'PartialObjectMetadata');
  assert.equal(pl.body.items[0].data, undefined);
  const po = await api.request('GET', paths.cm('cm-2'), { headers: { Accept: 'application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io' } });
  assert.equal(po.body.kind, 'PartialObjectMetadata');
  assert.equal(po.body.metadata.name, 'cm-2');

  const bad = await api.request('GET', paths.cms(), { headers: { Accept: 'text/html' } });
  assert.equal(bad.status, 406, bad.text);
});

test('continue token after compaction → 410 Expired', async () => {
  const p1 = await api.request('GET', `${paths.cms()}?limit=2`);
  const token = p1.body.metadata.continue;
  await api.request('POST', paths.cms(), { body: configMap('compact-bump') });
  await api.backend.compact(await api.backend.currentRevision());
  const r = await api.request('GET', `${paths.cms()}?limit=2&continue=${encodeURIComponent(token)}`);
  assert.equal(r.status, 410, r.text);
  assert.equal(r.body.reason, 'Expired');
  const old = await api.request('GET', `${paths.cms()}?resourceVersion=${p1.body.metadata.resourceVersion}&resourceVersionMatch=Exact`);
  assert.equal(old.status, 410, old.text);
  assert.equal(old.body.reason, 'Expired');
  await api.request('DELETE', paths.cm('compact-bump'));
});
