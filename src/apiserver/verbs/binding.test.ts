import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { findResource } from '../../api/resources.js';
import type { KObject } from '../../api/errors.js';
import type { KeyValue } from '../../store/types.js';
import { Registry } from '../registry.js';
import { paths, pod, startTestApiserver, TestApiserver } from '../testing.js';
import { applyBinding, spliceBinding, storedHead } from './binding.js';

const info = findResource('', 'v1', 'pods')!;
const NOW = '2026-11-28T21:00:00Z';
const reg = new Registry(undefined as never);

/** What the object path stores: decode → applyBinding → encode (as handleBinding's fallback does). */
function objectPath(stored: string, nodeName: string): string {
  const kv: KeyValue = { key: 'k', value: stored, createRevision: 5, modRevision: 5, version: 1 } as KeyValue;
  const next = applyBinding(reg.decode(info, kv), nodeName, undefined, NOW);
  return reg.encode(info, { ...next, metadata: { ...next.metadata } });
}

const storedOf = (o: Record<string, unknown>): string => reg.encode(info, o as KObject);

const base = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: 'v1', kind: 'Pod',
  metadata: { name: 'p', namespace: 'default', uid: 'u-1', labels: { a: '}{][', 'b"\\': 'x\\"{' }, annotations: { j: '{"spec":{"nodeName":"n"}}' } },
  spec: { containers: [{ name: 'c', image: 'busybox', args: ['"', '\\', '{', ']'], resources: { requests: { cpu: '100m' } } }], tolerations: [] },
  status: { phase: 'Pending', qosClass: 'Burstable' },
  ...over,
});

test('spliceBinding writes the same bytes as the object path', () => {
  const head = storedHead(info);
  assert.equal(head, '{"apiVersion":"v1","kind":"Pod","metadata":');
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['typical', base(), 'node-1'],
    ['no status', (() => { const o = base(); delete o.status; return o; })(), 'node-2'],
    ['empty status', base({ status: {} }), 'n'],
    ['empty spec', base({ spec: {} }), 'n'],
    ['status before spec', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, status: { phase: 'Pending' }, spec: { containers: [] } }, 'n'],
    ['odd node name', base(), 'nöde-"quoted"\\\u2028'],
    ['empty metadata', { apiVersion: 'v1', kind: 'Pod', metadata: {}, spec: { a: [1, 2.5, -3e-7, true, null, { b: [] }] } }, 'x'],
    ['non-ascii', base({ spec: { containers: [{ name: 'ü', image: '\ud83d\ude00', args: ['a\u2028b'] }] } }), 'n'],
    ['unicode values', base({ spec: { containers: [{ name: 'ü', image: '\ud83d\ude00', env: [{ name: 'E', value: '\u0000\u001f\ud800' }] }] } }), 'n'],
  ];
  for (const [name, o, node] of cases) {
    const stored = storedOf(o);
    const want = objectPath(stored, node);
    const got = spliceBinding(stored, head, node, undefined, NOW);
    assert.equal(got, want, name);
    // A UID precondition passes only when the stored uid matches.
    const hasUid = (o.metadata as { uid?: string }).uid === 'u-1';
    assert.equal(spliceBinding(stored, head, node, 'u-1', NOW), hasUid ? want : undefined, `${name} (uid)`);
  }
});

test('spliceBinding declines what the object path must handle', () => {
  const head = storedHead(info);
  const no = (o: Record<string, unknown>, uid?: string) => assert.equal(spliceBinding(storedOf(o), head, 'n', uid, NOW), undefined, JSON.stringify(o));
  no(base({ spec: { nodeName: 'other' } }));
  no(base({ spec: { nodeName: '' } }));
  no(base({ status: { conditions: [{ type: 'PodScheduled', status: 'False' }] } }));
  no(base({ status: null }));
  no(base({ spec: null }));
  no(base({ metadata: { name: 'p', uid: 'u-1', deletionTimestamp: NOW } }));
  no(base(), 'u-2');
  no(base({ metadata: { name: 'p' } }), 'u-1');
  // Not in encode's layout or not in the served version.
  assert.equal(spliceBinding('{"kind":"Pod","apiVersion":"v1","metadata":{},"spec":{}}', head, 'n', undefined, NOW), undefined);
  assert.equal(spliceBinding('{"apiVersion":"v1","kind":"Pod","metadata":{},"spec":{"node\\u004eame":"x"}}', head, 'n', undefined, NOW), undefined);
  assert.equal(spliceBinding('{"apiVersion":"v1","kind":"Pod","metadata":{},"spec":{},"spec":{}}', head, 'n', undefined, NOW), undefined);
  assert.equal(spliceBinding('{"apiVersion":"v1","kind":"Pod","metadata":{},"spec":{}', head, 'n', undefined, NOW), undefined);
  assert.equal(spliceBinding(storedOf(base()), null, 'n', undefined, NOW), undefined);
});

let api: TestApiserver;
before(async () => { api = await startTestApiserver(); });
after(() => api.close());

async function storedValue(name: string): Promise<string> {
  return (await api.backend.get(api.core.registry.key(info, 'default', name)))!.value;
}

test('pods/binding over HTTP stores what the object path would, and keeps its errors', async () => {
  for (const [name, extra] of [['f1', {}], ['f2', { tolerations: [{ key: 'k', operator: 'Exists' }] }], ['f3', { containers: [{ name: 'c', image: 'busybox', env: [{ name: 'E', value: '{"}\\' }] }] }]] as const) {
    const c = await api.request('POST', paths.pods(), { body: pod(name, extra as Record<string, unknown>, { app: name }) });
    assert.equal(c.status, 201, c.text);
    const before = await storedValue(name);
    const r = await api.request('POST', `${paths.pod(name)}/binding`, { body: { apiVersion: 'v1', kind: 'Binding', metadata: { name, uid: c.body.metadata.uid }, target: { kind: 'Node', name: 'node-1' } } });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(r.body, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
    const afterText = await storedValue(name);
    const when = JSON.parse(afterText).status.conditions[0].lastTransitionTime as string;
    const kv = { key: 'k', value: before, createRevision: 5, modRevision: 5, version: 1 } as KeyValue;
    const next = applyBinding(reg.decode(info, kv), 'node-1', undefined, when);
    assert.equal(afterText, reg.encode(info, next), name);
    assert.equal(spliceBinding(before, storedHead(info), 'node-1', c.body.metadata.uid, when), afterText, `${name}: the fast path applies`);
    const g = await api.request('GET', paths.pod(name));
    assert.equal(g.body.spec.nodeName, 'node-1');
    assert.equal(Number(g.body.metadata.resourceVersion) > Number(c.body.metadata.resourceVersion), true);
  }
  // Errors come from the object path, as before.
  const again = await api.request('POST', `${paths.pod('f1')}/binding`, { body: { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'f1' }, target: { kind: 'Node', name: 'node-2' } } });
  assert.equal(again.status, 409);
  assert.match(again.body.message, /already assigned to node "node-1"/);
  await api.request('POST', paths.pods(), { body: pod('f4') });
  const badUid = await api.request('POST', `${paths.pod('f4')}/binding`, { body: { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'f4', uid: 'nope' }, target: { kind: 'Node', name: 'n' } } });
  assert.equal(badUid.status, 409);
  assert.match(badUid.body.message, /Precondition failed: UID in precondition: nope/);
  const missing = await api.request('POST', `${paths.pod('gone')}/binding`, { body: { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'gone' }, target: { kind: 'Node', name: 'n' } } });
  assert.equal(missing.status, 404);
  // Annotations and dry runs take the object path.
  const dry = await api.request('POST', `${paths.pod('f4')}/binding?dryRun=All`, { body: { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'f4' }, target: { kind: 'Node', name: 'n' } } });
  assert.equal(dry.status, 201, dry.text);
  assert.equal((await api.request('GET', paths.pod('f4'))).body.spec.nodeName, undefined);
  const ann = await api.request('POST', `${paths.pod('f4')}/binding`, { body: { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'f4', annotations: { a: 'b' } }, target: { kind: 'Node', name: 'n' } } });
  assert.equal(ann.status, 201, ann.text);
  const g4 = await api.request('GET', paths.pod('f4'));
  assert.equal(g4.body.spec.nodeName, 'n');
  assert.equal(g4.body.metadata.annotations.a, 'b');
  assert.equal(g4.body.status.conditions.find((c: { type: string }) => c.type === 'PodScheduled').status, 'True');
});
