import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ConfigMap, Pod } from 'kubernetes-types/core/v1.js';
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import { ApiError, type KObject } from '../api/errors.js';
import { DynamicClient, PATCH_CONTENT_TYPES, type ResourceClient } from './dynamic.js';
import { LineSplitter, parseWatchLine, WatchDecodeError, type WatchEvent } from './watch.js';
import { FakeApiServer } from './testing/fake-apiserver.js';

let srv: FakeApiServer;
let client: DynamicClient;
let cms: ResourceClient<ConfigMap>;
before(async () => {
  srv = await FakeApiServer.start({ watchChunkBytes: 3 });
  client = new DynamicClient({ server: srv.url }, { rateLimit: false });
  cms = client.resource<ConfigMap>('v1', 'ConfigMap');
});
after(async () => {
  client.close();
  await srv.close();
});

test('resource() maps kinds to paths and rejects unknown kinds and misplaced namespaces', () => {
  const deps = client.resource<Deployment>('apps/v1', 'Deployment');
  assert.equal(deps.path('ns1', 'web', 'scale'), '/apis/apps/v1/namespaces/ns1/deployments/web/scale');
  assert.equal(deps.path(undefined), '/apis/apps/v1/deployments');
  const nodes = client.resource('v1', 'Node');
  assert.equal(nodes.path(undefined, 'n1'), '/api/v1/nodes/n1');
  assert.throws(() => nodes.path('default', 'n1'), /cluster-scoped/);
  assert.throws(() => client.resource('v1', 'Deployment'), /unknown kind Deployment in v1 \(served in apps\/v1\)/);
  const crd = client.resource({ group: 'example.com', version: 'v1', resource: 'widgets', kind: 'Widget', namespaced: true });
  assert.equal(crd.path('a', 'w'), '/apis/example.com/v1/namespaces/a/widgets/w');
  assert.equal(crd.apiVersion, 'example.com/v1');
});

test('create, get, update, updateStatus and typed results', async () => {
  const deps = client.resource<Deployment>('apps/v1', 'Deployment');
  const d = await deps.create('default', { metadata: { name: 'web' }, spec: { replicas: 1, selector: {}, template: {} } });
  assert.equal(d.metadata?.namespace, 'default');
  const got = await deps.get('default', 'web');
  assert.equal(got.spec?.replicas, 1);
  got.spec!.replicas = 3;
  const upd = await deps.update('default', got);
  assert.notEqual(upd.metadata?.resourceVersion, got.metadata?.resourceVersion);
  await assert.rejects(deps.update('default', got), (e) => e instanceof ApiError && e.reason === 'Conflict');
  const st = await deps.updateStatus(undefined, { ...upd, status: { replicas: 3 } });
  assert.equal(st.status?.replicas, 3);
  assert.equal(srv.requests.at(-1)!.path, '/apis/apps/v1/namespaces/default/deployments/web/status');
  const scale = await deps.scale('default', 'web', 5);
  assert.equal(scale.spec?.replicas, 5);
  assert.equal((await deps.getScale('default', 'web')).spec?.replicas, 5);
});

test('patch sends each patch type with its content type and options', async () => {
  await cms.create('default', { metadata: { name: 'p' }, data: { a: '1' } });
  const merged = await cms.patch('default', 'p', 'merge', { data: { b: '2' } });
  assert.deepEqual(merged.data, { a: '1', b: '2' });
  const json = await cms.patch('default', 'p', 'json', [{ op: 'remove', path: '/data/a' }]);
  assert.deepEqual(json.data, { b: '2' });
  await cms.patch('default', 'p', 'strategic', { data: { c: '3' } }, { fieldValidation: 'Strict' });
  await cms.patch('default', 'p', 'apply', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'p' }, data: { d: '4' } }, { fieldManager: 'me', force: true });
  const patches = srv.requestsFor('patch', 'configmaps');
  assert.deepEqual(patches.map((r) => r.contentType), [PATCH_CONTENT_TYPES.merge, PATCH_CONTENT_TYPES.json, PATCH_CONTENT_TYPES.strategic, PATCH_CONTENT_TYPES.apply]);
  assert.equal(patches[2]!.query.fieldValidation, 'Strict');
  assert.deepEqual([patches[3]!.query.fieldManager, patches[3]!.query.force], ['me', 'true']);
  assert.throws(() => cms.patch('default', 'p', 'apply', {}), /fieldManager/);
  assert.throws(() => cms.patch('default', 'p', 'merge', {}, { force: true }), /only valid for server-side apply/);
});

test('list pages with limit/continue and listAll follows every page', async () => {
  for (let i = 0; i < 7; i++) await cms.create('paging', { metadata: { name: `cm-${i}`, labels: { n: String(i % 2) } } });
  const page = await cms.list('paging', { limit: 3 });
  assert.equal(page.items.length, 3);
  assert.ok(page.metadata.continue);
  const all = await cms.listAll('paging', { limit: 3 });
  assert.deepEqual(all.items.map((c) => c.metadata?.name), ['cm-0', 'cm-1', 'cm-2', 'cm-3', 'cm-4', 'cm-5', 'cm-6']);
  assert.equal(all.metadata.resourceVersion, page.metadata.resourceVersion, 'no writes in between: same snapshot');
  const lists = srv.requestsFor('list', 'configmaps').slice(-3);
  assert.deepEqual(lists.map((r) => [r.query.limit, r.query.continue ? 'tok' : '']), [['3', ''], ['3', 'tok'], ['3', 'tok']]);
  const odd = await cms.listAll('paging', { labelSelector: 'n=1', limit: 2 });
  assert.deepEqual(odd.items.map((c) => c.metadata?.name), ['cm-1', 'cm-3', 'cm-5']);
  const byField = await cms.list(undefined, { fieldSelector: 'metadata.name=cm-4' });
  assert.deepEqual(byField.items.map((c) => c.metadata?.namespace), ['paging']);
});

test('delete sends DeleteOptions and deleteCollection uses selectors', async () => {
  const c = await cms.create('del', { metadata: { name: 'x' } });
  await assert.rejects(cms.delete('del', 'x', { preconditions: { uid: 'wrong' } }), (e) => e instanceof ApiError && e.code === 409);
  const st = await cms.delete('del', 'x', { propagationPolicy: 'Foreground', gracePeriodSeconds: 0, preconditions: { uid: c.metadata!.uid! } });
  assert.equal((st as { status?: string }).status, 'Success');
  assert.deepEqual(srv.requestsFor('delete').at(-1)!.body, {
    kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Foreground', gracePeriodSeconds: 0, preconditions: { uid: c.metadata!.uid },
  });
  await cms.create('del', { metadata: { name: 'k1', labels: { keep: 'no' } } });
  await cms.create('del', { metadata: { name: 'k2', labels: { keep: 'yes' } } });
  await cms.deleteCollection('del', { labelSelector: 'keep=no', propagationPolicy: 'Background' });
  assert.deepEqual((await cms.list('del')).items.map((o) => o.metadata?.name), ['k2']);
});

test('subresources: binding through createSubresource', async () => {
  const pods = client.resource<Pod>('v1', 'Pod');
  await pods.create('default', { metadata: { name: 'p1' }, spec: { containers: [] } });
  await pods.createSubresource('default', 'p1', 'binding', { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'p1' }, target: { kind: 'Node', name: 'n1' } });
  assert.equal((await pods.get('default', 'p1')).spec?.nodeName, 'n1');
  await assert.rejects(pods.createSubresource('default', 'p1', 'binding', { target: { name: 'n2' } }), (e) => (e as ApiError).code === 409);
});

test('LineSplitter reassembles frames and UTF-8 split across chunks', () => {
  const frame = Buffer.from('{"type":"ADDED","object":{"metadata":{"name":"é—✓"}}}\n{"type":"BOOK');
  const s = new LineSplitter();
  const lines: string[] = [];
  for (let i = 0; i < frame.length; i++) lines.push(...s.push(frame.subarray(i, i + 1)));
  lines.push(...s.push('MARK","object":{}}'));
  const last = s.end();
  assert.equal(lines.length, 1);
  assert.equal(parseWatchLine<KObject>(lines[0]!).object.metadata.name, 'é—✓');
  assert.equal(parseWatchLine(last!).type, 'BOOKMARK');
  assert.throws(() => parseWatchLine('{"type":"NOPE","object":{}}'), WatchDecodeError);
  assert.throws(() => parseWatchLine('{not json'), WatchDecodeError);
});

function collect<T>(rc: ResourceClient<T>, ns: string | undefined, opts: Parameters<ResourceClient<T>['watch']>[1]) {
  const events: WatchEvent<T>[] = [];
  let closeErr: unknown = 'open';
  const h = rc.watch(ns, opts, (e) => events.push(e), (err) => (closeErr = err));
  return { events, h, closed: () => closeErr };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

test('watch streams events (written in 3-byte chunks) and bookmarks, abort closes without error', async () => {
  const list = await cms.list('w');
  const w = collect(cms, 'w', { resourceVersion: list.metadata.resourceVersion, allowWatchBookmarks: true });
  await srv.waitForWatches(1);
  await cms.create('w', { metadata: { name: 'ünï' }, data: { x: '✓'.repeat(10) } });
  await cms.patch('w', 'ünï', 'merge', { data: { y: '1' } });
  await cms.delete('w', 'ünï');
  srv.bookmark();
  await until(() => w.events.length === 4, 'four events');
  assert.deepEqual(w.events.map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK']);
  assert.equal((w.events[0]!.object as ConfigMap).data?.x, '✓'.repeat(10));
  assert.equal(srv.requestsFor('watch').at(-1)!.query.allowWatchBookmarks, 'true');
  w.h.abort();
  await w.h.done;
  assert.equal(w.closed(), undefined);
});

test('watch onClose reports server end, HTTP errors, ERROR frames and drops', async () => {
  const ended = collect(cms, 'w', { resourceVersion: String(srv.rev) });
  await srv.waitForWatches(1);
  srv.closeWatches();
  await ended.h.done;
  assert.equal(ended.closed(), undefined, 'clean end');

  srv.fail({ verb: 'watch', code: 410, reason: 'Expired', message: 'too old resource version' });
  const http410 = collect(cms, 'w', { resourceVersion: '1' });
  await http410.h.done;
  assert.ok(http410.closed() instanceof ApiError && (http410.closed() as ApiError).code === 410);

  srv.compact();
  const frame410 = collect(cms, 'w', { resourceVersion: '1' });
  await frame410.h.done;
  assert.equal(frame410.closed(), undefined);
  assert.equal(frame410.events[0]?.type, 'ERROR');
  assert.equal((frame410.events[0]!.object as { code: number }).code, 410);

  const dropped = collect(cms, 'w', { resourceVersion: String(srv.rev) });
  await srv.waitForWatches(1);
  srv.dropWatches();
  await dropped.h.done;
  assert.ok(dropped.closed() instanceof Error, 'a dropped connection is an error');

  const throwing = cms.watch('w', { resourceVersion: String(srv.rev) }, () => {
    throw new Error('handler bug');
  }, (err) => assert.match(String(err), /handler bug/));
  await srv.waitForWatches(1);
  await cms.create('w', { metadata: { name: 'boom' } });
  await throwing.done;
});

test('LineSplitter: several frames per chunk, CRLF and blank lines, chunks ending on and straddling newlines', () => {
  const s = new LineSplitter();
  assert.deepEqual(s.push(Buffer.from('{"a":1}\r\n\n  \n{"b":2}\n')), ['{"a":1}', '{"b":2}']);
  assert.deepEqual(s.push(Buffer.from('{"c":')), []);
  assert.deepEqual(s.push(Buffer.from('3}')), []);
  assert.deepEqual(s.push(Buffer.from('\n{"d":4}\n{"e"')), ['{"c":3}', '{"d":4}']);
  assert.deepEqual(s.push(''), []);
  assert.equal(s.end(), '{"e"');
  assert.equal(s.end(), undefined);
  const t = new LineSplitter();
  assert.deepEqual(t.push('{"ü":1}\n{"x"'), ['{"ü":1}']);
  assert.deepEqual(t.push(':2}\n'), ['{"x":2}']);
  assert.equal(t.end(), undefined);
});
