import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { configMap, paths, startTestApiserver, TestApiserver } from '../testing.js';
import { setBookmarkIntervalForTests } from './watch.js';

let api: TestApiserver;
before(async () => {
  api = await startTestApiserver();
  await api.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'w' } } });
  await api.request('POST', paths.cms('w'), { body: configMap('a', { v: '1' }, { sel: 'yes' }) });
  await api.request('POST', paths.cms('w'), { body: configMap('b', { v: '1' }, { sel: 'no' }) });
});
after(() => api.close());

const cms = paths.cms('w');
const cm = (n: string) => paths.cm(n, 'w');
const summary = (evs: Array<{ type: string; object: any }>) => evs.map((e) => `${e.type} ${e.object?.metadata?.name ?? e.object?.reason ?? ''}`);

test('rv unset: initial ADDED events, then live changes; headers flushed before any event', async () => {
  const w = await api.watch(`${cms}?watch=true`);
  // The response (headers) arrived although no event was necessarily written yet.
  assert.equal(w.status, 200);
  assert.match(String(w.headers['content-type']), /^application\/json/);
  assert.equal(w.headers['transfer-encoding'], 'chunked');
  await w.waitFor(2);
  assert.deepEqual(summary(w.events), ['ADDED a', 'ADDED b']);
  await api.request('PATCH', cm('a'), { body: { data: { v: '2' } }, headers: { 'Content-Type': 'application/merge-patch+json' } });
  const evs = await w.waitFor(3);
  assert.deepEqual(summary(evs.slice(2)), ['MODIFIED a']);
  assert.equal(evs[2].object.data.v, '2');
  assert.equal(evs[2].object.kind, 'ConfigMap');
  assert.equal(evs[2].object.apiVersion, 'v1');
  w.close();
  await api.request('PATCH', cm('a'), { body: { data: { v: '1' } }, headers: { 'Content-Type': 'application/merge-patch+json' } });
});

test('a watch with no objects still flushes headers', async () => {
  const w = await api.watch(`${paths.cms('kube-public')}?watch=true&resourceVersion=${await api.backend.currentRevision()}`);
  assert.equal(w.status, 200);
  assert.equal(w.events.length, 0);
  w.close();
});

test('rv=N: only changes after N; DELETED carries the deletion resourceVersion', async () => {
  const list = await api.request('GET', cms);
  const rv = list.body.metadata.resourceVersion;
  const w = await api.watch(`${cms}?watch=true&resourceVersion=${rv}`);
  const created = await api.request('POST', cms, { body: configMap('c') });
  const del = await api.request('DELETE', cm('c'));
  assert.equal(del.status, 200);
  const evs = await w.waitFor(2);
  assert.deepEqual(summary(evs), ['ADDED c', 'DELETED c']);
  assert.equal(evs[0].object.metadata.resourceVersion, created.body.metadata.resourceVersion);
  const delRv = Number(evs[1].object.metadata.resourceVersion);
  assert.ok(delRv > Number(created.body.metadata.resourceVersion));
  assert.equal(delRv, await api.backend.currentRevision());
  w.close();
});

test('rv below the compacted revision → one ERROR 410 Expired, then the stream ends', async () => {
  const first = await api.request('GET', cms);
  const oldRv = Number(first.body.metadata.resourceVersion);
  await api.request('POST', cms, { body: configMap('compact-me') });
  await api.request('DELETE', cm('compact-me'));
  await api.backend.compact(await api.backend.currentRevision());
  const w = await api.watch(`${cms}?watch=true&resourceVersion=${oldRv - 1}`);
  assert.equal(w.status, 200);
  await w.ended;
  assert.equal(w.events.length, 1, JSON.stringify(w.events));
  const e = w.events[0];
  assert.equal(e.type, 'ERROR');
  assert.equal(e.object.kind, 'Status');
  assert.equal(e.object.code, 410);
  assert.equal(e.object.reason, 'Expired');
  assert.match(e.object.message, /^too old resource version: \d+ \(\d+\)$/);
});

test('label-selector watch: moving out → DELETED, moving in → ADDED', async () => {
  const w = await api.watch(`${cms}?watch=true&labelSelector=sel%3Dyes`);
  await w.waitFor(1);
  assert.deepEqual(summary(w.events), ['ADDED a']);
  const patch = (n: string, sel: string) => api.request('PATCH', cm(n), { body: { metadata: { labels: { sel } } }, headers: { 'Content-Type': 'application/merge-patch+json' } });
  await patch('a', 'no');
  await patch('b', 'yes');
  await patch('b', 'yes'); // no-op: no event
  await api.request('PATCH', cm('b'), { body: { data: { v: '9' } }, headers: { 'Content-Type': 'application/merge-patch+json' } });
  await api.request('PATCH', cm('a'), { body: { data: { v: '9' } }, headers: { 'Content-Type': 'application/merge-patch+json' } }); // outside: no event
  await api.request('DELETE', cm('b'));
  const evs = await w.waitFor(5);
  assert.deepEqual(summary(evs), ['ADDED a', 'DELETED a', 'ADDED b', 'MODIFIED b', 'DELETED b']);
  // The DELETED for a moved-out object carries its new state.
  assert.equal(evs[1].object.metadata.labels.sel, 'no');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(w.events.length, 5);
  w.close();
  await api.request('POST', cms, { body: configMap('b', { v: '1' }, { sel: 'no' }) });
  await patch('a', 'yes');
});

test('label-selector watch from a resourceVersion: objects moving in and out repeatedly', async () => {
  const rv = await api.backend.currentRevision();
  const w = await api.watch(`${cms}?watch=true&labelSelector=sel%3Dyes&resourceVersion=${rv}`);
  const patch = (n: string, body: unknown) => api.request('PATCH', cm(n), { body, headers: { 'Content-Type': 'application/merge-patch+json' } });
  await api.request('POST', cms, { body: configMap('mv', { v: '1' }, { sel: 'no' }) });
  await patch('mv', { metadata: { labels: { sel: 'yes' } } });
  await patch('mv', { data: { v: '2' } });
  await patch('mv', { metadata: { labels: { sel: 'no' } } });
  await patch('mv', { data: { v: '3' } }); // outside: no event
  await patch('mv', { metadata: { labels: { sel: 'yes' } } });
  const last = await patch('mv', { data: { v: '4' } });
  await api.request('DELETE', cm('mv'));
  const evs = await w.waitFor(6);
  assert.deepEqual(summary(evs), ['ADDED mv', 'MODIFIED mv', 'DELETED mv', 'ADDED mv', 'MODIFIED mv', 'DELETED mv']);
  assert.deepEqual(evs.map((e: any) => e.object.data.v), ['1', '2', '2', '3', '4', '4']);
  assert.equal(evs[4].object.metadata.resourceVersion, last.body.metadata.resourceVersion);
  assert.equal(evs[4].object.kind, 'ConfigMap');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(w.events.length, 6);
  w.close();
});

test('fieldSelector=metadata.name watch at rv=0 (kubectl get NAME -w)', async () => {
  const w = await api.watch(`${cms}?fieldSelector=metadata.name%3Da&resourceVersion=0&watch=true`);
  await w.waitFor(1);
  assert.deepEqual(summary(w.events), ['ADDED a']);
  await api.request('PATCH', cm('b'), { body: { data: { v: 'x' } }, headers: { 'Content-Type': 'application/merge-patch+json' } });
  await api.request('PATCH', cm('a'), { body: { data: { v: 'x' } }, headers: { 'Content-Type': 'application/merge-patch+json' } });
  const evs = await w.waitFor(2);
  assert.deepEqual(summary(evs), ['ADDED a', 'MODIFIED a']);
  w.close();
});

test('allowWatchBookmarks sends BOOKMARK events with the current resourceVersion', async () => {
  setBookmarkIntervalForTests(50);
  try {
    const rv = await api.backend.currentRevision();
    const w = await api.watch(`${cms}?watch=true&allowWatchBookmarks=true&resourceVersion=${rv}`);
    const evs = await w.waitFor(1, 2000);
    assert.equal(evs[0].type, 'BOOKMARK');
    assert.equal(evs[0].object.kind, 'ConfigMap');
    assert.equal(evs[0].object.apiVersion, 'v1');
    assert.equal(evs[0].object.metadata.resourceVersion, String(rv));
    w.close();
    const plain = await api.watch(`${cms}?watch=true&resourceVersion=${rv}`);
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(plain.events.length, 0, 'no bookmarks unless asked');
    plain.close();
  } finally {
    setBookmarkIntervalForTests();
  }
});

test('timeoutSeconds=1 closes the stream', async () => {
  const started = Date.now();
  const w = await api.watch(`${cms}?watch=true&timeoutSeconds=1&resourceVersion=${await api.backend.currentRevision()}`);
  await w.ended;
  const took = Date.now() - started;
  assert.ok(took >= 900 && took < 3000, `took ${took}ms`);
});

test('Table watch: columnDefinitions only in the first event', async () => {
  const w = await api.watch(`${cms}?watch=true`, { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' });
  const evs = await w.waitFor(2);
  assert.equal(evs[0].object.kind, 'Table');
  assert.equal(evs[0].object.apiVersion, 'meta.k8s.io/v1');
  assert.ok(evs[0].object.columnDefinitions.length > 0);
  assert.equal(evs[0].object.rows.length, 1);
  assert.equal(evs[0].object.rows[0].object.kind, 'PartialObjectMetadata');
  assert.ok(!evs[1].object.columnDefinitions || evs[1].object.columnDefinitions.length === 0, JSON.stringify(evs[1].object.columnDefinitions));
  assert.equal(evs[1].object.rows.length, 1);
  await api.request('PATCH', cm('a'), { body: { data: { v: 't' } }, headers: { 'Content-Type': 'application/merge-patch+json' } });
  const all = await w.waitFor(3);
  assert.equal(all[2].type, 'MODIFIED');
  assert.equal(all[2].object.kind, 'Table');
  assert.ok(!all[2].object.columnDefinitions || all[2].object.columnDefinitions.length === 0);
  w.close();
});

test('watch errors before the stream starts are plain Status replies', async () => {
  const r = await api.request('GET', `${cms}?watch=true&labelSelector=${encodeURIComponent('a in (')}`);
  assert.equal(r.status, 400);
  assert.equal(r.body.kind, 'Status');
  const r2 = await api.request('GET', `${cms}?watch=true&timeoutSeconds=abc`);
  assert.equal(r2.status, 400);
});

test('cluster-wide watch sees every namespace; namespaced watch only its own', async () => {
  const rv = await api.backend.currentRevision();
  const all = await api.watch(`/api/v1/configmaps?watch=true&resourceVersion=${rv}`);
  const def = await api.watch(`${paths.cms()}?watch=true&resourceVersion=${rv}`);
  await api.request('POST', cms, { body: configMap('cw-1') });
  await api.request('POST', paths.cms(), { body: configMap('cw-2') });
  const evs = await all.waitFor(2);
  assert.deepEqual(summary(evs), ['ADDED cw-1', 'ADDED cw-2']);
  const d = await def.waitFor(1);
  assert.deepEqual(summary(d), ['ADDED cw-2']);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(def.events.length, 1);
  all.close();
  def.close();
});

test('closed watches unregister their watcher', async () => {
  const gauge = async () => {
    const m = await api.core.metrics.watchers.get();
    return m.values.filter((v) => v.labels.kind === 'ConfigMap').reduce((a, v) => a + v.value, 0);
  };
  await new Promise((r) => setTimeout(r, 50));
  const base = await gauge();
  const ws = await Promise.all([1, 2, 3].map(() => api.watch(`${cms}?watch=true&resourceVersion=${0}`)));
  await Promise.all(ws.map((w) => w.waitFor(1)));
  assert.equal(await gauge(), base + 3);
  for (const w of ws) w.close();
  for (let i = 0; i < 50 && (await gauge()) !== base; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(await gauge(), base);
});

test('selector-less watch events and create responses (served from the stored text) equal a GET of the object', async () => {
  const rv = (await api.request('GET', cms)).body.metadata.resourceVersion;
  const w = await api.watch(`${cms}?watch=true&resourceVersion=${rv}`);
  const created = await api.request('POST', cms, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'raw', labels: { x: 'y' } }, data: { k: 'v' } } });
  await api.request('PATCH', cm('raw'), { body: { data: { k: 'w' } }, headers: { 'Content-Type': 'application/merge-patch+json' } });
  const got = await api.request('GET', cm('raw'));
  await api.request('DELETE', cm('raw'));
  const evs = await w.waitFor(3);
  assert.deepEqual(summary(evs), ['ADDED raw', 'MODIFIED raw', 'DELETED raw']);
  assert.deepEqual(evs[0].object, created.body);
  assert.deepEqual(evs[1].object, got.body);
  assert.ok(Number(created.body.metadata.resourceVersion) > Number(rv));
  assert.equal(created.body.apiVersion, 'v1');
  assert.equal(created.body.kind, 'ConfigMap');
  assert.equal(created.body.data.k, 'v');
  w.close();
});
