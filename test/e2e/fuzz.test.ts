/**
 * Bad input never crashes, hangs or corrupts the apiserver: thousands of generated malformed requests (bodies,
 * content types, paths, selectors, patches, query parameters) must each get a 4xx Status (or a 2xx where the
 * generated input happens to be valid), and afterwards the server still answers and every earlier object is intact.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { cleanup, request, startServer, TestServer } from './harness.js';

let s: TestServer;
before(async () => { s = await startServer(); });
after(async () => { await cleanup(s); });

const PATHS = [
  '/api/v1/namespaces/default/configmaps',
  '/api/v1/namespaces/default/configmaps/fz',
  '/api/v1/namespaces/default/pods',
  '/api/v1/namespaces/default/pods/fz',
  '/api/v1/namespaces/default/pods/fz/status',
  '/apis/apps/v1/namespaces/default/deployments',
  '/apis/apps/v1/namespaces/default/deployments/fz',
  '/apis/apps/v1/namespaces/default/deployments/fz/scale',
  '/apis/batch/v1/namespaces/default/jobs',
  '/api/v1/namespaces',
  '/api/v1/namespaces/default',
  '/api/v1/nodes/fz',
  '/apis/networking.k8s.io/v1/namespaces/default/ingresses',
  '/api/v1/namespaces/default/services',
  '/api/v1/namespaces/default/serviceaccounts/fz/token',
  '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
  '/apis/nope/v1/things', '/api/v2/pods', '/api/v1/namespaces/default/bogus', '/%ff%fe', '/api/v1/namespaces/%2e%2e/configmaps',
];
const CONTENT_TYPES = [
  'application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf', 'application/merge-patch+json',
  'application/json-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml', 'text/plain', '', 'application/xml',
];
const KINDS = ['ConfigMap', 'Pod', 'Deployment', 'Job', 'Namespace', 'Service', 'Ingress', 'Bogus'];

const weird = fc.oneof(
  fc.constant(null), fc.boolean(), fc.integer(), fc.double(), fc.string(), fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string(), fc.integer(), fc.constant(null)), { maxKeys: 4 }),
);

/** Objects shaped like Kubernetes objects but with wrong types and values in random places. */
const objectish = fc.record({
  apiVersion: fc.oneof(fc.constantFrom('v1', 'apps/v1', 'batch/v1', 'networking.k8s.io/v1', 'bogus/v9'), weird),
  kind: fc.oneof(fc.constantFrom(...KINDS), weird),
  metadata: fc.oneof(
    fc.record({ name: fc.oneof(fc.constantFrom('fz', 'Bad_Name', '', 'a'.repeat(300)), weird), labels: fc.oneof(weird, fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 })), namespace: fc.oneof(fc.constant('default'), weird) }, { requiredKeys: [] }),
    weird,
  ),
  spec: weird,
  data: weird,
  status: weird,
}, { requiredKeys: [] });

function deep(n: number): string {
  return '['.repeat(n) + ']'.repeat(n);
}

const bodyArb = fc.oneof(
  objectish.map((o) => JSON.stringify(o)),
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.concat([Buffer.from('k8s\0'), Buffer.from(a)])),
  fc.constantFrom('{', '{"a":', '[]', 'null', '1', '"s"', '{"metadata":{"name":"fz"}', ':\n- : :', '---\na: 1\n---\nb: 2\n', '*a', deep(5000), `{"a":${deep(100000)}}`),
  fc.array(fc.record({ op: fc.constantFrom('add', 'remove', 'replace', 'move', 'copy', 'test', 'bogus'), path: fc.constantFrom('/spec', '/metadata/name', '/x/y/z', '', 'bad', '/data/~2'), value: weird }), { maxLength: 3 }).map((a) => JSON.stringify(a)),
  objectish.map((o) => JSON.stringify({ ...o, 'spec': { '$patch': 'bogus', '$setElementOrder/containers': 5, containers: [{ '$patch': 'delete' }] } })),
);

const queryArb = fc.oneof(
  fc.constant(''),
  fc.constantFrom('?labelSelector=a%20in%20(', '?labelSelector=!!', '?fieldSelector=spec.bogus=1', '?fieldSelector=a', '?limit=-5', '?limit=abc',
    '?continue=garbage', '?resourceVersion=abc', '?resourceVersion=99999999999', '?resourceVersionMatch=Exact', '?watch=true&timeoutSeconds=1&resourceVersion=1',
    '?dryRun=Bogus', '?fieldValidation=Nope', '?gracePeriodSeconds=x', '?propagationPolicy=Sideways', '?watch=true&timeoutSeconds=abc', '?includeObject=Nope'),
  fc.string({ maxLength: 30 }).map((x) => '?labelSelector=' + encodeURIComponent(x)),
  fc.string({ maxLength: 30 }).map((x) => '?fieldSelector=' + encodeURIComponent(x)),
);

test('thousands of malformed requests get 4xx Status answers; the server survives with data intact', async () => {
  // Objects that must survive.
  const seeds: string[] = [];
  const ns = await request(s, 'POST', '/api/v1/namespaces', { body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'keep-ns' } }), headers: { 'content-type': 'application/json' } });
  assert.equal(ns.status, 201, ns.body.toString());
  for (let i = 0; i < 5; i++) {
    const r = await request(s, 'POST', '/api/v1/namespaces/keep-ns/configmaps', { body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `keep-${i}` }, data: { v: String(i) } }), headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 201, r.body.toString());
    seeds.push(`keep-${i}`);
  }
  let count = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE'), fc.constantFrom(...PATHS), queryArb, fc.constantFrom(...CONTENT_TYPES), bodyArb,
      async (method, path, query, ct, body) => {
        count++;
        const headers: Record<string, string> = {};
        if (ct) headers['content-type'] = ct;
        const r = await request(s, method, path + query, { body: method === 'GET' ? undefined : body, headers, timeoutMs: 8000 });
        // 504 Timeout "Too large resource version" is kube-apiserver's answer to a list at a future resourceVersion.
        const tooLarge = r.status === 504 && r.json().reason === 'Timeout' && /Too large resource version/.test(r.json().message);
        assert.ok(r.status < 500 || tooLarge, `${method} ${path}${query} (${ct}) → ${r.status}: ${r.body.toString().slice(0, 300)}`);
        if (r.status >= 400) {
          const st = r.json();
          assert.equal(st.kind, 'Status');
          assert.equal(st.code, r.status);
          assert.ok(st.reason, 'reason set');
        }
      },
    ),
    { numRuns: 2500, seed: 20261128 },
  );
  assert.ok(count >= 2500);
  // Oversized body → 413.
  const big = await request(s, 'POST', '/api/v1/namespaces/default/configmaps', { body: Buffer.alloc(3 * 1024 * 1024 + 10, 0x61), headers: { 'content-type': 'application/json' } });
  assert.equal(big.status, 413);
  // Still healthy, and the seeds are intact.
  const ready = await request(s, 'GET', '/readyz');
  assert.equal(ready.body.toString(), 'ok');
  for (const [i, name] of seeds.entries()) {
    const r = await request(s, 'GET', `/api/v1/namespaces/keep-ns/configmaps/${name}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json().data, { v: String(i) });
  }
  const anon = await request(s, 'GET', '/api/v1/namespaces', { anonymous: true });
  assert.equal(anon.status, 401);
  assert.equal(anon.json().reason, 'Unauthorized');
});
