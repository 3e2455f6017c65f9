/**
 * /openapi/v2 with the real kubectl: client-side validation of `kind: List` documents (kubectl 1.32 validates List
 * items against the v2 definitions), strategic merge patches computed from the v2 document, and kubectl 1.27
 * `apply` without `--validate=false`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanup, kubectlPath, NO_KUBECTL, request, startServer, TestServer } from './harness.js';

const tmp = mkdtempSync(join(tmpdir(), 'skiff-openapi-v2-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
function file(name: string, content: string): string {
  const p = join(tmp, name);
  writeFileSync(p, content);
  return p;
}

const PROTOBUF_ACCEPT = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';

function list(prefix: string, extraConfigMapField = ''): string {
  return `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: ${prefix}-cm
  data:
    a: "1"
${extraConfigMapField}- apiVersion: v1
  kind: Service
  metadata:
    name: ${prefix}-svc
  spec:
    selector: {app: ${prefix}}
    ports:
    - port: 80
      targetPort: 8080
`;
}

function deployment(name: string, containers: string[]): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: 1
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
${containers.map((c) => `      - name: ${c}\n        image: busybox:1\n        env: [{name: A, value: "1"}]\n`).join('')}`;
}

const UNKNOWN_FIELD = /error validating data: ValidationError\(ConfigMap\): unknown field "bogus" in io\.k8s\.api\.core\.v1\.ConfigMap/;

describe('kubectl 1.32 with /openapi/v2', { skip: NO_KUBECTL }, () => {
  let s: TestServer;
  before(async () => { s = await startServer(); });
  after(async () => { await cleanup(s); });

  test('apply -f - of a List with a ConfigMap and a Service', async () => {
    const out = await s.k(['apply', '-f', '-'], { input: list('l1') });
    assert.match(out, /configmap\/l1-cm created/);
    assert.match(out, /service\/l1-svc created/);
    assert.equal((await s.k(['get', 'cm', 'l1-cm', '-o', 'jsonpath={.data.a}'])).trim(), '1');
    assert.equal((await s.k(['get', 'svc', 'l1-svc', '-o', 'jsonpath={.spec.ports[0].targetPort}'])).trim(), '8080');
    const again = await s.k(['apply', '-f', '-'], { input: list('l1') });
    assert.match(again, /configmap\/l1-cm unchanged/);
  });

  test('an unknown field in a List item is rejected client-side', async () => {
    const r = await s.kubectl(['apply', '-f', '-'], { input: list('l2', '  bogus: 1\n') });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, UNKNOWN_FIELD);
    assert.match(r.stderr, /turn validation off with --validate=false/);
    const cm = await s.kubectl(['get', 'cm', 'l2-cm']);
    assert.match(cm.stderr, /NotFound/, 'nothing of the List was sent');
    // --validate=false skips the client-side check (the server then drops or rejects the field itself).
    const off = await s.kubectl(['apply', '--validate=false', '-f', '-'], { input: list('l3', '  bogus: 1\n') });
    assert.doesNotMatch(off.stderr, UNKNOWN_FIELD);
  });

  test('client-side apply removes a list element by merge key (patch computed from the v2 document)', async () => {
    const f = file('dep132.yaml', deployment('smp', ['a', 'b']));
    await s.k(['apply', '-f', f]);
    file('dep132.yaml', deployment('smp', ['a']));
    assert.match(await s.k(['apply', '-f', f]), /configured/);
    assert.equal((await s.k(['get', 'deploy', 'smp', '-o', 'jsonpath={.spec.template.spec.containers[*].name}'])).trim(), 'a');
  });

  test('GET /openapi/v2 protobuf with ETag and 304', async () => {
    const r = await request(s, 'GET', '/openapi/v2', { headers: { Accept: PROTOBUF_ACCEPT } });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf');
    const etag = String(r.headers.etag);
    assert.match(etag, /^"[0-9A-F]{128}"$/);
    assert.ok(r.body.length > 100_000);
    const nm = await request(s, 'GET', '/openapi/v2', { headers: { Accept: PROTOBUF_ACCEPT, 'If-None-Match': etag } });
    assert.equal(nm.status, 304);
    const json = await request(s, 'GET', '/openapi/v2', { headers: { Accept: 'application/json' } });
    assert.equal(json.json().swagger, '2.0');
  });
});

const bin27 = kubectlPath('27');
describe('kubectl 1.27 apply without --validate=false', { skip: NO_KUBECTL || (bin27 ? false : 'kubectl.1.27 not installed: SKIPPED') }, () => {
  let s: TestServer;
  before(async () => { s = await startServer(); });
  after(async () => { await cleanup(s); });

  test('apply -f a Deployment, re-apply a change, apply a List, reject an unknown field in a List item', async () => {
    const opt = { binary: bin27! };
    const f = file('dep127.yaml', deployment('old', ['a', 'b']));
    assert.match(await s.k(['apply', '-f', f], opt), /deployment.apps\/old created/);
    file('dep127.yaml', deployment('old', ['a']));
    assert.match(await s.k(['apply', '-f', f], opt), /deployment.apps\/old configured/);
    assert.equal((await s.k(['get', 'deploy', 'old', '-o', 'jsonpath={.spec.template.spec.containers[*].name}'], opt)).trim(), 'a');
    const out = await s.k(['apply', '-f', '-'], { ...opt, input: list('k27') });
    assert.match(out, /configmap\/k27-cm created/);
    assert.match(out, /service\/k27-svc created/);
    const bad = await s.kubectl(['apply', '-f', '-'], { ...opt, input: list('k27b', '  bogus: 1\n') });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, UNKNOWN_FIELD);
  });
});
