import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { AGGREGATED_CONTENT_TYPE } from './discovery.js';
import { configMap, paths, startTestApiserver, TestApiserver } from './testing.js';

let api: TestApiserver;
before(async () => { api = await startTestApiserver(); });
after(() => api.close());

const KUBECTL_DISCOVERY_ACCEPT = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';

test('aggregated discovery answers with the exact content type', async () => {
  for (const path of ['/api', '/apis']) {
    const r = await api.request('GET', `${path}?timeout=32s`, { headers: { Accept: KUBECTL_DISCOVERY_ACCEPT } });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], AGGREGATED_CONTENT_TYPE);
    assert.equal(r.headers['content-type'], 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    assert.equal(r.body.kind, 'APIGroupDiscoveryList');
    assert.equal(r.body.apiVersion, 'apidiscovery.k8s.io/v2');
    const names = r.body.items.map((i: { metadata: { name: string } }) => i.metadata.name);
    if (path === '/api') assert.deepEqual(names, ['']);
    else {
      assert.ok(!names.includes(''));
      assert.ok(names.includes('apps'));
    }
  }
  const apis = (await api.request('GET', '/apis', { headers: { Accept: KUBECTL_DISCOVERY_ACCEPT } })).body;
  const apps = apis.items.find((i: { metadata: { name: string } }) => i.metadata.name === 'apps');
  const deploy = apps.versions[0].resources.find((r: { resource: string }) => r.resource === 'deployments');
  assert.equal(deploy.scope, 'Namespaced');
  assert.deepEqual(deploy.responseKind, { group: 'apps', version: 'v1', kind: 'Deployment' });
  const scale = deploy.subresources.find((s: { subresource: string }) => s.subresource === 'scale');
  assert.deepEqual(scale.responseKind, { group: 'autoscaling', version: 'v1', kind: 'Scale' });
  const core = (await api.request('GET', '/api', { headers: { Accept: KUBECTL_DISCOVERY_ACCEPT } })).body;
  const pods = core.items[0].versions[0].resources.find((r: { resource: string }) => r.resource === 'pods');
  assert.ok(pods.shortNames.includes('po'));
  assert.ok(pods.categories.includes('all'));
});

test('legacy discovery bodies without the aggregated Accept', async () => {
  const apiV = await api.request('GET', '/api', { headers: { Accept: 'application/json' } });
  assert.equal(apiV.status, 200);
  assert.match(String(apiV.headers['content-type']), /^application\/json/);
  assert.equal(apiV.body.kind, 'APIVersions');
  assert.deepEqual(apiV.body.versions, ['v1']);
  const apis = await api.request('GET', '/apis');
  assert.equal(apis.body.kind, 'APIGroupList');
  assert.ok(apis.body.groups.some((g: { name: string }) => g.name === 'apps'));
  const group = await api.request('GET', '/apis/apps');
  assert.equal(group.body.kind, 'APIGroup');
  assert.equal(group.body.preferredVersion.groupVersion, 'apps/v1');
  const rl = await api.request('GET', '/apis/apps/v1');
  assert.equal(rl.status, 200);
  assert.equal(rl.body.kind, 'APIResourceList');
  assert.equal(rl.body.groupVersion, 'apps/v1');
  const names = rl.body.resources.map((r: { name: string }) => r.name);
  assert.ok(names.includes('deployments'));
  assert.ok(names.includes('deployments/scale'));
  const scale = rl.body.resources.find((r: { name: string }) => r.name === 'deployments/scale');
  assert.equal(scale.kind, 'Scale');
  assert.equal(scale.group, 'autoscaling');
  assert.equal(scale.version, 'v1');
  const v1 = await api.request('GET', '/api/v1');
  assert.equal(v1.body.groupVersion, 'v1');
  assert.ok(v1.body.resources.some((r: { name: string }) => r.name === 'pods/log' || r.name === 'pods/status'));
});

test('version, health, errors', async () => {
  const cases: Array<{ name: string; path: string; headers?: Record<string, string>; status: number; check: (r: Awaited<ReturnType<TestApiserver['request']>>) => void }> = [
    { name: 'version', path: '/version?timeout=5s', status: 200, check: (r) => { assert.equal(r.body.major, '1'); assert.equal(r.body.minor, '32'); assert.match(r.body.gitVersion, /^v1\.32\./); } },
    { name: 'healthz', path: '/healthz', status: 200, check: (r) => assert.equal(r.text, 'ok') },
    { name: 'livez', path: '/livez', status: 200, check: (r) => assert.equal(r.text, 'ok') },
    { name: 'readyz', path: '/readyz', status: 200, check: (r) => assert.equal(r.text, 'ok') },
    { name: 'healthz anonymous', path: '/healthz', headers: { 'x-test-anonymous': '1' }, status: 200, check: (r) => assert.equal(r.text, 'ok') },
    {
      name: 'anonymous', path: paths.cms(), headers: { 'x-test-anonymous': '1' }, status: 401,
      check: (r) => { assert.equal(r.body.kind, 'Status'); assert.equal(r.body.reason, 'Unauthorized'); assert.equal(r.body.code, 401); assert.equal(r.body.status, 'Failure'); },
    },
    {
      name: 'unknown path', path: '/nope/nothing', status: 404,
      check: (r) => { assert.equal(r.body.kind, 'Status'); assert.equal(r.body.reason, 'NotFound'); assert.equal(r.body.code, 404); },
    },
    { name: 'unknown group version', path: '/apis/nope.example.com/v1', status: 404, check: (r) => assert.equal(r.body.reason, 'NotFound') },
    { name: 'unknown resource', path: '/api/v1/namespaces/default/widgets', status: 404, check: (r) => assert.equal(r.body.reason, 'NotFound') },
    { name: 'missing object', path: paths.cm('missing'), status: 404, check: (r) => { assert.equal(r.body.message, 'configmaps "missing" not found'); assert.deepEqual(r.body.details, { name: 'missing', group: '', kind: 'configmaps' }); } },
  ];
  for (const c of cases) {
    const r = await api.request('GET', c.path, { headers: c.headers });
    assert.equal(r.status, c.status, `${c.name}: ${r.text}`);
    c.check(r);
  }
});

test('not ready: readyz fails, livez still ok', async () => {
  api.core.ready = false;
  try {
    assert.equal((await api.request('GET', '/readyz')).status, 500);
    assert.equal((await api.request('GET', '/livez')).status, 200);
  } finally {
    api.core.ready = true;
  }
});

test('metrics count requests by verb/resource/code and time the store', async () => {
  await api.request('POST', paths.cms(), { body: configMap('metrics-cm') });
  await api.request('GET', paths.cm('metrics-cm'));
  await api.request('GET', paths.cm('metrics-missing'));
  const r = await api.request('GET', '/metrics');
  assert.equal(r.status, 200);
  const lines = r.text.split('\n');
  const find = (re: RegExp) => lines.find((l) => l.startsWith('apiserver_request_total{') && re.test(l));
  assert.ok(find(/verb="GET".*resource="configmaps".*code="200"/) ?? find(/code="200".*verb="GET"/), 'GET 200 counted');
  const notFound = lines.find((l) => l.startsWith('apiserver_request_total{') && l.includes('verb="GET"') && l.includes('resource="configmaps"') && l.includes('code="404"'));
  assert.ok(notFound, 'GET 404 counted');
  assert.ok(lines.some((l) => l.startsWith('apiserver_request_total{') && l.includes('verb="POST"') && l.includes('code="201"')), 'POST 201 counted');
  assert.ok(lines.some((l) => l.startsWith('etcd_request_duration_seconds_bucket{') && l.includes('operation="create"')), 'store latency recorded');
  assert.ok(r.text.includes('apiserver_request_duration_seconds'));
});

test('metrics verb label follows upstream CleanVerb (POST/PUT/LIST/APPLY, not create/update)', async () => {
  await api.request('GET', paths.cms());
  const cm = (await api.request('GET', paths.cm('metrics-cm'))).body;
  await api.request('PUT', paths.cm('metrics-cm'), { body: cm });
  await api.request('PATCH', paths.cm('metrics-cm'), { body: JSON.stringify(configMap('metrics-cm')), headers: { 'Content-Type': 'application/apply-patch+yaml' } });
  const text = (await api.request('GET', '/metrics')).text;
  const verbs = new Set([...text.matchAll(/^apiserver_request_total\{verb="([A-Z]+)"/gm)].map((m) => m[1]));
  for (const v of ['POST', 'GET', 'LIST', 'PUT', 'APPLY']) assert.ok(verbs.has(v), `${v} in ${[...verbs]}`);
  assert.ok(!verbs.has('CREATE') && !verbs.has('UPDATE'));
});
