import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { findResource } from '../../api/resources.js';
import { paths, pod, startTestApiserver, TestApiserver } from '../testing.js';

const info = findResource('', 'v1', 'pods')!;

let api: TestApiserver;
before(async () => { api = await startTestApiserver(); });
after(() => api.close());

async function stored(name: string): Promise<Record<string, any>> {
  return JSON.parse((await api.backend.get(api.core.registry.key(info, 'default', name)))!.value);
}

test('pods/binding sets spec.nodeName and PodScheduled=True and changes nothing else; its errors', async () => {
  for (const [name, extra] of [['f1', {}], ['f2', { tolerations: [{ key: 'k', operator: 'Exists' }] }], ['f3', { containers: [{ name: 'c', image: 'busybox', env: [{ name: 'E', value: '{"}\\' }] }] }]] as const) {
    const c = await api.request('POST', paths.pods(), { body: pod(name, extra as Record<string, unknown>, { app: name }) });
    assert.equal(c.status, 201, c.text);
    const before = await stored(name);
    const r = await api.request('POST', `${paths.pod(name)}/binding`, { body: { apiVersion: 'v1', kind: 'Binding', metadata: { name, uid: c.body.metadata.uid }, target: { kind: 'Node', name: 'node-1' } } });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(r.body, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
    const after = await stored(name);
    const cond = after.status.conditions.find((x: { type: string }) => x.type === 'PodScheduled');
    assert.deepEqual(cond, { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: cond.lastTransitionTime });
    assert.match(cond.lastTransitionTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // Everything else as it was.
    assert.deepEqual(after, { ...before, spec: { ...before.spec, nodeName: 'node-1' }, status: { ...before.status, conditions: [cond] } }, name);
    const g = await api.request('GET', paths.pod(name));
    assert.equal(g.body.spec.nodeName, 'node-1');
    assert.equal(Number(g.body.metadata.resourceVersion) > Number(c.body.metadata.resourceVersion), true);
  }
  const again = await api.request('POST', `${paths.pod('f1')}/binding`, { body: { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'f1' }, target: { kind: 'Node', name: 'node-2' } } });
  assert.equal(again.status, 409);
  assert.match(again.body.message, /already assigned to node "node-1"/);
  await api.request('POST', paths.pods(), { body: pod('f4') });
  const badUid = await api.request('POST', `${paths.pod('f4')}/binding`, { body: { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'f4', uid: 'nope' }, target: { kind: 'Node', name: 'n' } } });
  assert.equal(badUid.status, 409);
  assert.match(badUid.body.message, /Precondition failed: UID in precondition: nope/);
  const missing = await api.request('POST', `${paths.pod('gone')}/binding`, { body: { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'gone' }, target: { kind: 'Node', name: 'n' } } });
  assert.equal(missing.status, 404);
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
