import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { configMap, deployment, paths, startTestApiserver, TestApiserver } from '../testing.js';

let api: TestApiserver;
before(async () => { api = await startTestApiserver(); });
after(() => api.close());

test('create fills system metadata', async () => {
  const r = await api.request('POST', paths.cms(), { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'gen-' }, data: { a: 'b' } } });
  assert.equal(r.status, 201, r.text);
  assert.match(r.body.metadata.name, /^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  assert.equal(r.body.metadata.generateName, 'gen-');
  assert.match(r.body.metadata.uid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.match(r.body.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.match(r.body.metadata.resourceVersion, /^\d+$/);
  assert.equal(r.body.metadata.namespace, 'default');
  assert.equal(r.body.metadata.generation, undefined, 'configmaps have no generation');
  assert.equal(r.body.apiVersion, 'v1');
  assert.equal(r.body.kind, 'ConfigMap');
  const got = await api.request('GET', paths.cm(r.body.metadata.name));
  assert.deepEqual(got.body, r.body);
});

test('create deployment: generation 1, status dropped, defaults applied', async () => {
  const d = deployment('gen1');
  (d as Record<string, unknown>).status = { replicas: 7, readyReplicas: 7 };
  (d.metadata as Record<string, unknown>).generation = 9;
  (d.metadata as Record<string, unknown>).uid = 'client-uid';
  const r = await api.request('POST', paths.deploys(), { body: d });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.metadata.generation, 1);
  assert.notEqual(r.body.metadata.uid, 'client-uid');
  assert.ok(r.body.status === undefined || Object.keys(r.body.status).length === 0 || r.body.status.replicas === undefined, JSON.stringify(r.body.status));
  assert.equal(r.body.spec.strategy?.type, 'RollingUpdate');
});

test('create errors', async () => {
  // A terminating namespace: mark it directly (finalizers keep it around).
  const nsRes = await api.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'doomed' } } });
  assert.equal(nsRes.status, 201, nsRes.text);
  await api.request('POST', paths.cms(), { body: configMap('exists') });
  const del = await api.request('DELETE', '/api/v1/namespaces/doomed');
  assert.equal(del.status, 200, del.text);

  const cases: Array<{ name: string; path?: string; body: unknown; headers?: Record<string, string>; status: number; reason: string; message?: RegExp; check?: (b: any) => void }> = [
    { name: 'namespace mismatch', body: { ...configMap('x'), metadata: { name: 'x', namespace: 'kube-system' } }, status: 400, reason: 'BadRequest', message: /does not match the namespace/ },
    { name: 'missing namespace', path: paths.cms('nope'), body: configMap('x'), status: 404, reason: 'NotFound', message: /^namespaces "nope" not found$/ },
    {
      name: 'terminating namespace', path: paths.cms('doomed'), body: configMap('x'), status: 403, reason: 'Forbidden',
      message: /^configmaps "x" is forbidden: unable to create new content in namespace doomed because it is being terminated$/,
    },
    { name: 'already exists', body: configMap('exists'), status: 409, reason: 'AlreadyExists', message: /^configmaps "exists" already exists$/, check: (b) => assert.deepEqual(b.details, { name: 'exists', group: '', kind: 'configmaps' }) },
    {
      name: 'invalid name', body: configMap('Bad_Name'), status: 422, reason: 'Invalid', message: /^ConfigMap "Bad_Name" is invalid: /,
      check: (b) => { assert.equal(b.details.kind, 'ConfigMap'); assert.ok(b.details.causes.some((c: { field: string }) => c.field === 'metadata.name')); },
    },
    { name: 'no name', body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} }, status: 422, reason: 'Invalid', check: (b) => assert.equal(b.details.causes[0].field, 'metadata.name') },
    { name: 'wrong kind', body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' } }, status: 400, reason: 'BadRequest' },
    { name: 'wrong apiVersion', body: { apiVersion: 'apps/v1', kind: 'ConfigMap', metadata: { name: 'x' } }, status: 400, reason: 'BadRequest' },
    { name: 'text/plain', body: 'hello', headers: { 'Content-Type': 'text/plain' }, status: 415, reason: 'UnsupportedMediaType' },
    { name: 'malformed json', body: '{"a":', headers: { 'Content-Type': 'application/json' }, status: 400, reason: 'BadRequest' },
    { name: 'strict unknown field', path: `${paths.cms()}?fieldValidation=Strict`, body: { ...configMap('strict'), bogus: 1 }, status: 400, reason: 'BadRequest', message: /unknown field "bogus"/ },
    { name: 'bad fieldValidation', path: `${paths.cms()}?fieldValidation=Loud`, body: configMap('fv'), status: 400, reason: 'BadRequest' },
    { name: 'bad dryRun', path: `${paths.cms()}?dryRun=Some`, body: configMap('dr'), status: 400, reason: 'BadRequest' },
  ];
  for (const c of cases) {
    const r = await api.request('POST', c.path ?? paths.cms(), { body: c.body, headers: c.headers });
    assert.equal(r.status, c.status, `${c.name}: ${r.text}`);
    assert.equal(r.body.kind, 'Status', c.name);
    assert.equal(r.body.code, c.status, c.name);
    assert.equal(r.body.reason, c.reason, `${c.name}: ${r.text}`);
    if (c.message) assert.match(r.body.message, c.message, c.name);
    c.check?.(r.body);
  }
  assert.equal((await api.request('GET', paths.cm('strict'))).status, 404);
});

test('events may still be created in a terminating namespace', async () => {
  await api.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'doomed-ev' } } });
  await api.request('DELETE', '/api/v1/namespaces/doomed-ev');
  const r = await api.request('POST', '/api/v1/namespaces/doomed-ev/events', {
    body: { apiVersion: 'v1', kind: 'Event', metadata: { name: 'e1' }, involvedObject: { kind: 'Pod', name: 'p', namespace: 'doomed-ev' }, reason: 'X', message: 'm', type: 'Normal' },
  });
  assert.equal(r.status, 201, r.text);
});

test('dryRun=All writes nothing', async () => {
  const before = await api.backend.currentRevision();
  const r = await api.request('POST', `${paths.cms()}?dryRun=All`, { body: configMap('dry') });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.metadata.name, 'dry');
  assert.ok(r.body.metadata.uid);
  assert.equal(await api.backend.currentRevision(), before);
  assert.equal((await api.request('GET', paths.cm('dry'))).status, 404);
});

test('YAML body and YAML response', async () => {
  const yaml = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  k: v\n';
  const r = await api.request('POST', paths.cms(), { body: yaml, headers: { 'Content-Type': 'application/yaml', Accept: 'application/yaml' } });
  assert.equal(r.status, 201, r.text);
  assert.match(String(r.headers['content-type']), /^application\/yaml/);
  assert.match(r.text, /name: from-yaml/);
  const got = await api.request('GET', paths.cm('from-yaml'));
  assert.deepEqual(got.body.data, { k: 'v' });
});

test('fieldValidation Warn (default) and Ignore', async () => {
  const warn = await api.request('POST', `${paths.cms()}?fieldValidation=Warn`, { body: { ...configMap('warn1'), bogus: 1 } });
  assert.equal(warn.status, 201, warn.text);
  assert.match(String(warn.headers.warning), /^299 - "unknown field \\?"bogus\\?""$/);
  const dflt = await api.request('POST', paths.cms(), { body: { ...configMap('warn2'), metadata: { name: 'warn2', bogusMeta: 'x' } } });
  assert.equal(dflt.status, 201, dflt.text);
  assert.match(String(dflt.headers.warning), /299 - .*metadata\.bogusMeta/);
  const ignore = await api.request('POST', `${paths.cms()}?fieldValidation=Ignore`, { body: { ...configMap('ign'), bogus: 1 } });
  assert.equal(ignore.status, 201);
  assert.equal(ignore.headers.warning, undefined);
  const got = await api.request('GET', paths.cm('ign'));
  assert.equal(got.body.bogus, undefined, 'unknown fields are dropped');
});

test('cluster-scoped create ignores namespace and namespaced create without a namespace is refused', async () => {
  const r = await api.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'plain' } } });
  assert.equal(r.status, 201);
  assert.equal(r.body.status.phase, 'Active');
  const bad = await api.request('POST', '/api/v1/configmaps', { body: configMap('nons') });
  assert.ok(bad.status === 404 || bad.status === 405, bad.text);
});

test('generateName: long bases are cut to 58 characters; collisions are retried', async () => {
  const long = 'x'.repeat(70);
  const r = await api.request('POST', paths.cms(), { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: long } } });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.metadata.name.length, 63);
  assert.ok(r.body.metadata.name.startsWith('x'.repeat(58)));

  const real = Math.random;
  const seq = [...Array(10).fill(0), ...Array(5).fill(0.99)];
  Math.random = () => (seq.length ? seq.shift()! : real());
  try {
    const a = await api.request('POST', paths.cms(), { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'dup-' } } });
    assert.equal(a.body.metadata.name, 'dup-bbbbb');
    const b = await api.request('POST', paths.cms(), { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'dup-' } } });
    assert.equal(b.status, 201, b.text);
    assert.equal(b.body.metadata.name, 'dup-99999');
  } finally {
    Math.random = real;
  }
});

test('create resets status per kind: PersistentVolume Pending, Node kept', async () => {
  const pv = await api.request('POST', '/api/v1/persistentvolumes', {
    body: { apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'pv1' }, spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/tmp/pv1' } }, status: { phase: 'Bound' } },
  });
  assert.equal(pv.status, 201, pv.text);
  assert.equal(pv.body.status.phase, 'Pending');
  assert.ok(pv.body.status.lastPhaseTransitionTime);
  const node = await api.request('POST', '/api/v1/nodes', { body: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, status: { capacity: { cpu: '2' } } } });
  assert.equal(node.status, 201, node.text);
  assert.equal(node.body.status.capacity.cpu, '2');
});

test('terminating-namespace refusal of a generateName create names no object', async () => {
  await api.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'doomed-gen' } } });
  await api.request('DELETE', '/api/v1/namespaces/doomed-gen');
  const r = await api.request('POST', paths.cms('doomed-gen'), { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'g-' } } });
  assert.equal(r.status, 403, r.text);
  assert.equal(r.body.message, 'configmaps is forbidden: unable to create new content in namespace doomed-gen because it is being terminated');
  const d = await api.request('POST', '/apis/apps/v1/namespaces/doomed-gen/deployments', { body: deployment('dd') });
  assert.equal(d.body.message, 'deployments.apps "dd" is forbidden: unable to create new content in namespace doomed-gen because it is being terminated');
});
