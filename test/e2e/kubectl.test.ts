/**
 * The real kubectl (1.32 through the version dispatcher, plus 1.27 and 1.33) drives `skiff server` end to end.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { cleanup, kubectlPath, NO_KUBECTL, startServer, TestServer } from './harness.js';

const tmp = mkdtempSync(join(tmpdir(), 'skiff-kubectl-'));
function file(name: string, content: string): string {
  const p = join(tmp, name);
  writeFileSync(p, content);
  return p;
}

const DEPLOY = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web, tier: front}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: c1
        image: nginx:1
        ports: [{containerPort: 80}]
        env: [{name: A, value: "1"}]
`;

describe('kubectl 1.32 against skiff server', { skip: NO_KUBECTL }, () => {
  let s: TestServer;
  before(async () => { s = await startServer(); });
  after(async () => { await cleanup(s); });

  test('version reports 1.32 and the dispatcher runs kubectl 1.32', async () => {
    const out = await s.k(['version', '-o', 'json']);
    const v = JSON.parse(out);
    assert.equal(v.serverVersion.minor, '32');
    assert.match(v.clientVersion.gitVersion, /^v1\.32\./);
  });

  test('api-resources and api-versions come from discovery', async () => {
    const res = await s.k(['api-resources']);
    for (const r of ['pods', 'deployments', 'cronjobs', 'ingresses', 'leases', 'priorityclasses', 'horizontalpodautoscalers', 'clusterroles']) {
      assert.match(res, new RegExp(`^${r}\\s`, 'm'), `api-resources lists ${r}`);
    }
    assert.match(res, /^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
    const vs = await s.k(['api-versions']);
    for (const v of ['v1', 'apps/v1', 'batch/v1', 'networking.k8s.io/v1', 'autoscaling/v2', 'autoscaling/v1']) assert.match(vs, new RegExp(`^${v.replace('/', '\\/')}$`, 'm'));
  });

  test('system namespaces exist', async () => {
    const out = await s.k(['get', 'namespaces', '-o', 'name']);
    for (const n of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) assert.match(out, new RegExp(`^namespace/${n}$`, 'm'));
  });

  test('create generators send protobuf and succeed', async () => {
    await s.k(['create', 'namespace', 'gen']);
    const cmds: string[][] = [
      ['create', 'configmap', 'cm1', '--from-literal=a=1', '-n', 'gen'],
      ['create', 'secret', 'generic', 's1', '--from-literal=p=secret', '-n', 'gen'],
      ['create', 'deployment', 'd1', '--image=nginx', '--replicas=2', '-n', 'gen'],
      ['create', 'job', 'j1', '--image=busybox', '-n', 'gen', '--', 'echo', 'hi'],
      ['create', 'cronjob', 'cj1', '--image=busybox', '--schedule=*/5 * * * *', '-n', 'gen'],
      ['create', 'service', 'clusterip', 'svc1', '--tcp=80:8080', '-n', 'gen'],
      ['create', 'ingress', 'ing1', '--rule=foo.com/bar=svc1:80', '-n', 'gen'],
      ['create', 'priorityclass', 'high', '--value=1000'],
      ['create', 'quota', 'q1', '--hard=pods=10', '-n', 'gen'],
      ['create', 'serviceaccount', 'sa1', '-n', 'gen'],
      ['create', 'role', 'r1', '--verb=get', '--resource=pods', '-n', 'gen'],
      ['create', 'rolebinding', 'rb1', '--role=r1', '--serviceaccount=gen:sa1', '-n', 'gen'],
      ['create', 'clusterrole', 'cr1', '--verb=get', '--resource=nodes'],
      ['create', 'poddisruptionbudget', 'pdb1', '--selector=app=x', '--min-available=1', '-n', 'gen'],
    ];
    for (const c of cmds) await s.k(c);
    const dep = JSON.parse(await s.k(['get', 'deployment', 'd1', '-n', 'gen', '-o', 'json']));
    assert.equal(dep.spec.replicas, 2);
    assert.equal(dep.spec.template.spec.containers[0].image, 'nginx');
    assert.equal(dep.metadata.generation, 1);
    const sec = JSON.parse(await s.k(['get', 'secret', 's1', '-n', 'gen', '-o', 'json']));
    assert.equal(Buffer.from(sec.data.p, 'base64').toString(), 'secret');
    const cj = JSON.parse(await s.k(['get', 'cronjob', 'cj1', '-n', 'gen', '-o', 'json']));
    assert.equal(cj.spec.schedule, '*/5 * * * *');
    const svc = JSON.parse(await s.k(['get', 'svc', 'svc1', '-n', 'gen', '-o', 'json']));
    assert.equal(svc.spec.ports[0].targetPort, 8080);
  });

  test('create token returns a JWT and auth can-i answers', async () => {
    await s.k(['create', 'serviceaccount', 'robot']);
    const tok = (await s.k(['create', 'token', 'robot'])).trim();
    assert.equal(tok.split('.').length, 3);
    const claims = JSON.parse(Buffer.from(tok.split('.')[1], 'base64url').toString());
    assert.equal(claims.sub, 'system:serviceaccount:default:robot');
    // The token authenticates against the apiserver.
    const r = await s.kubectl(['--token', tok, '--user', '', 'get', '--raw', '/version']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await s.k(['auth', 'can-i', 'create', 'pods'])).trim(), 'yes');
  });

  test('apply creates, then patches an existing object; replace; generation tracks spec', async () => {
    const f = file('deploy.yaml', DEPLOY);
    assert.match(await s.k(['apply', '-f', f]), /deployment.apps\/web created/);
    assert.match(await s.k(['apply', '-f', f]), /deployment.apps\/web unchanged/);
    file('deploy.yaml', DEPLOY.replace('nginx:1', 'nginx:2').replace('replicas: 2', 'replicas: 3'));
    assert.match(await s.k(['apply', '-f', f]), /deployment.apps\/web configured/);
    const d = JSON.parse(await s.k(['get', 'deploy', 'web', '-o', 'json']));
    assert.equal(d.spec.replicas, 3);
    assert.equal(d.spec.template.spec.containers[0].image, 'nginx:2');
    assert.deepEqual(d.spec.template.spec.containers[0].ports, [{ containerPort: 80, protocol: 'TCP' }]);
    assert.equal(d.metadata.generation, 2);
    // label-only change keeps generation
    await s.k(['label', 'deploy', 'web', 'extra=yes']);
    assert.equal(JSON.parse(await s.k(['get', 'deploy', 'web', '-o', 'json'])).metadata.generation, 2);
    // replace with the current object
    const cur = JSON.parse(await s.k(['get', 'deploy', 'web', '-o', 'json']));
    cur.spec.replicas = 4;
    const rf = file('replace.json', JSON.stringify(cur));
    assert.match(await s.k(['replace', '-f', rf]), /replaced/);
    // a stale resourceVersion conflicts
    const r = await s.kubectl(['replace', '-f', rf]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Conflict|the object has been modified/);
  });

  test('create -f with an unknown field fails strict validation', async () => {
    const f = file('bad.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: badcm\ndata:\n  a: "1"\nbogus: 1\n');
    const r = await s.kubectl(['create', '-f', f]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /unknown field "bogus"/);
    const w = await s.kubectl(['create', '-f', f, '--validate=warn']);
    assert.equal(w.code, 0, w.stderr);
    assert.match(w.stderr, /unknown field "bogus"/);
  });

  test('get output formats, selectors, -A, --show-labels', async () => {
    await s.k(['create', 'configmap', 'c-a', '--from-literal=x=1']);
    await s.k(['label', 'configmap', 'c-a', 'team=ml', 'env=dev']);
    await s.k(['create', 'configmap', 'c-b', '--from-literal=x=1']);
    await s.k(['label', 'configmap', 'c-b', 'team=web']);
    const table = await s.k(['get', 'configmaps']);
    assert.match(table, /^NAME\s+DATA\s+AGE$/m);
    assert.match(table, /^c-a\s+1\s+\d+s$/m);
    assert.match(await s.k(['get', 'cm', '-l', 'team=ml', '-o', 'name']), /^configmap\/c-a\n$/);
    assert.equal((await s.k(['get', 'cm', '-l', 'team in (ml,web),env!=prod', '-o', 'name'])).trim().split('\n').length, 2);
    assert.equal((await s.k(['get', 'cm', '-l', '!env', '-o', 'name'])).includes('c-b'), true);
    assert.match(await s.k(['get', 'cm', '--field-selector', 'metadata.name=c-b', '-o', 'name']), /^configmap\/c-b\n$/);
    assert.match(await s.k(['get', 'cm', 'c-a', '--show-labels']), /env=dev,team=ml/);
    assert.match(await s.k(['get', 'cm', 'c-a', '-o', 'jsonpath={.data.x}']), /^1$/);
    const y = await s.k(['get', 'cm', 'c-a', '-o', 'yaml']);
    assert.match(y, /^kind: ConfigMap$/m);
    const all = await s.k(['get', 'cm', '-A']);
    assert.match(all, /^NAMESPACE\s+NAME\s+DATA\s+AGE$/m);
    assert.match(all, /^default\s+c-a\s/m);
    const wide = await s.k(['get', 'deploy', 'web', '-o', 'wide']);
    assert.match(wide, /CONTAINERS\s+IMAGES\s+SELECTOR/);
    assert.match(wide, /app=web/);
    const bad = await s.kubectl(['get', 'cm', '--field-selector', 'spec.bogus=1']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /"spec.bogus" is not a known field selector/);
  });

  test('paging: get with --chunk-size follows continue tokens', async () => {
    for (let i = 0; i < 7; i++) await s.k(['create', 'configmap', `page-${i}`, '-n', 'gen']);
    const out = await s.k(['get', 'cm', '-n', 'gen', '--chunk-size=2', '-o', 'name']);
    assert.equal(out.trim().split('\n').filter((l) => l.startsWith('configmap/page-')).length, 7);
  });

  test('describe, label, annotate, patch of every type', async () => {
    await s.k(['annotate', 'deploy', 'web', 'note=hello']);
    await s.k(['patch', 'deploy', 'web', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"c1","image":"nginx:3"}]}}}}']);
    let d = JSON.parse(await s.k(['get', 'deploy', 'web', '-o', 'json']));
    assert.equal(d.spec.template.spec.containers[0].image, 'nginx:3');
    assert.deepEqual(d.spec.template.spec.containers[0].env, [{ name: 'A', value: '1' }], 'strategic merge keeps other fields');
    await s.k(['patch', 'deploy', 'web', '--type=merge', '-p', '{"metadata":{"labels":{"tier":null}}}']);
    await s.k(['patch', 'deploy', 'web', '--type=json', '-p', '[{"op":"replace","path":"/spec/replicas","value":5}]']);
    d = JSON.parse(await s.k(['get', 'deploy', 'web', '-o', 'json']));
    assert.equal(d.metadata.labels.tier, undefined);
    assert.equal(d.metadata.annotations.note, 'hello');
    assert.equal(d.spec.replicas, 5);
    const bad = await s.kubectl(['patch', 'deploy', 'web', '--type=json', '-p', '[{"op":"test","path":"/spec/replicas","value":9}]']);
    assert.notEqual(bad.code, 0);
    const desc = await s.k(['describe', 'deploy', 'web']);
    assert.match(desc, /^Name:\s+web$/m);
    assert.match(desc, /Annotations:\s+.*note: hello/s);
  });

  test('edit with EDITOR as a script', async () => {
    const editor = file('editor.sh', '#!/bin/sh\nsed -i "s/a: \\"1\\"/a: \\"edited\\"/" "$1"\n');
    chmodSync(editor, 0o755);
    await s.k(['create', 'configmap', 'ed', '--from-literal=a=1']);
    await s.k(['edit', 'configmap', 'ed'], { env: { EDITOR: editor, KUBE_EDITOR: editor } });
    assert.equal((await s.k(['get', 'cm', 'ed', '-o', 'jsonpath={.data.a}'])).trim(), 'edited');
  });

  test('scale uses the scale subresource', async () => {
    assert.match(await s.k(['scale', 'deploy', 'web', '--replicas=7']), /scaled/);
    assert.equal((await s.k(['get', 'deploy', 'web', '-o', 'jsonpath={.spec.replicas}'])).trim(), '7');
    assert.match(await s.k(['scale', 'deploy', 'web', '--current-replicas=7', '--replicas=1']), /scaled/);
    const r = await s.kubectl(['scale', 'deploy', 'web', '--current-replicas=9', '--replicas=2']);
    assert.notEqual(r.code, 0);
  });

  test('wait --for=jsonpath, --for=condition and --for=delete', async () => {
    await s.k(['create', 'configmap', 'w1', '--from-literal=k=v']);
    assert.match(await s.k(['wait', 'cm/w1', '--for=jsonpath={.data.k}=v', '--timeout=10s']), /condition met/);
    await s.k(['create', 'namespace', 'waitns']);
    const waiter = s.kubectl(['wait', 'ns/waitns', '--for=condition=Ready', '--timeout=10s']);
    // Add the condition through the status subresource as a controller would.
    await s.k(['patch', 'ns', 'waitns', '--subresource=status', '--type=merge', '-p', '{"status":{"conditions":[{"type":"Ready","status":"True"}]}}']);
    const wr = await waiter;
    assert.equal(wr.code, 0, wr.stderr);
    const del = s.kubectl(['wait', 'cm/w1', '--for=delete', '--timeout=10s']);
    await new Promise((r) => setTimeout(r, 500));
    await s.k(['delete', 'cm', 'w1']);
    assert.equal((await del).code, 0);
  });

  test('get -w streams changes (Table watch) and get NAME -w', async () => {
    await s.k(['create', 'configmap', 'watched', '--from-literal=a=1']);
    const child = spawn(kubectlPath()!, ['--kubeconfig', s.kubeconfig, 'get', 'cm', '-w', '--request-timeout=20s'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    await new Promise((r) => setTimeout(r, 1500));
    await s.k(['create', 'configmap', 'watched-2']);
    const deadline = Date.now() + 10_000;
    while (!out.includes('watched-2') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    child.kill();
    assert.match(out, /^NAME\s+DATA\s+AGE$/m);
    assert.match(out, /^watched\s/m);
    assert.match(out, /^watched-2\s/m);
  });

  test('delete with --wait and every --cascade mode; preconditions', async () => {
    for (const c of ['background', 'foreground', 'orphan']) {
      await s.k(['create', 'deployment', `del-${c}`, '--image=nginx']);
      assert.match(await s.k(['delete', 'deployment', `del-${c}`, `--cascade=${c}`, '--wait=true', '--timeout=20s']), /deleted/);
      const r = await s.kubectl(['get', 'deployment', `del-${c}`]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /NotFound/);
    }
    const r = await s.kubectl(['delete', 'cm', 'does-not-exist']);
    assert.match(r.stderr, /Error from server \(NotFound\): configmaps "does-not-exist" not found/);
  });

  test('finalizers keep an object until removed', async () => {
    await s.k(['create', 'configmap', 'fin']);
    await s.k(['patch', 'cm', 'fin', '--type=merge', '-p', '{"metadata":{"finalizers":["example.com/keep"]}}']);
    await s.k(['delete', 'cm', 'fin', '--wait=false']);
    const o = JSON.parse(await s.k(['get', 'cm', 'fin', '-o', 'json']));
    assert.ok(o.metadata.deletionTimestamp);
    await s.k(['patch', 'cm', 'fin', '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]']);
    const r = await s.kubectl(['get', 'cm', 'fin']);
    assert.match(r.stderr, /NotFound/);
  });

  test('explain prints field documentation', async () => {
    const out = await s.k(['explain', 'pod.spec.containers']);
    assert.match(out, /KIND:\s+Pod/);
    assert.match(out, /image\s+<string>/);
    const dep = await s.k(['explain', 'deployment.spec.replicas']);
    assert.match(dep, /replicas/);
  });

  test('invalid objects get 422 with field causes, missing namespace 404', async () => {
    const f = file('invalid.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n');
    const r = await s.kubectl(['create', '-f', f]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /is invalid: metadata.name: Invalid value: "Bad_Name"/);
    const n = await s.kubectl(['create', 'configmap', 'x', '-n', 'nope']);
    assert.match(n.stderr, /namespaces "nope" not found/);
  });

  test('dry-run=server writes nothing', async () => {
    await s.k(['create', 'configmap', 'dry', '--dry-run=server']);
    const r = await s.kubectl(['get', 'cm', 'dry']);
    assert.match(r.stderr, /NotFound/);
  });
});

// kubectl ≤ 1.27 validates apply through the protobuf /openapi/v2 document and reads v2beta1 aggregated discovery;
// 1.33 (and the dispatcher's 1.32 above) validate through /openapi/v3.
for (const minor of ['27', '33']) {
  const bin = kubectlPath(minor);
  describe(`kubectl 1.${minor} against skiff server`, { skip: NO_KUBECTL || (bin ? false : `kubectl.1.${minor} not installed: SKIPPED`) }, () => {
    let s: TestServer;
    before(async () => { s = await startServer(); });
    after(async () => { await cleanup(s); });
    test('create, apply, get, patch, scale, delete', async () => {
      const opt = { binary: bin! };
      await s.k(['create', 'namespace', 'v'], opt);
      await s.k(['create', 'deployment', 'd', '--image=nginx', '-n', 'v'], opt);
      await s.k(['create', 'configmap', 'c', '--from-literal=a=b', '-n', 'v'], opt);
      const f = file(`d${minor}.yaml`, DEPLOY);
      await s.k(['apply', '-n', 'v', '-f', f], opt);
      file(`d${minor}.yaml`, DEPLOY.replace('nginx:1', 'nginx:9'));
      assert.match(await s.k(['apply', '-n', 'v', '-f', f], opt), /configured/);
      assert.match(await s.k(['get', 'deploy', '-n', 'v'], opt), /^web\s+0\/2/m);
      await s.k(['scale', 'deploy', 'web', '-n', 'v', '--replicas=3'], opt);
      await s.k(['patch', 'cm', 'c', '-n', 'v', '-p', '{"data":{"z":"1"}}'], opt);
      assert.equal((await s.k(['get', 'cm', 'c', '-n', 'v', '-o', 'jsonpath={.data.z}'], opt)).trim(), '1');
      await s.k(['delete', 'deploy', 'web', '-n', 'v'], opt);
      assert.match(await s.k(['get', 'deploy', '-n', 'v', '-o', 'name'], opt), /deployment.apps\/d/);
    });
  });
}
