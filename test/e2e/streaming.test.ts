/**
 * End to end: the real kubectl → `skiff server` (apiserver proxy) → a kubelet streaming server running in this test
 * process over a ProcessRuntime pod. The Node object points at the test's streaming server; the pod is bound to it
 * with spec.nodeName. Covers logs (tail, timestamps, -f), exec (exit code, stdin), cp and port-forward with the
 * default kubectl (WebSocket) and with kubectl 1.29 (SPDY only).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanup, kubectlPath, NO_KUBECTL, request, startServer, type TestServer } from './harness.js';
import { ProcessRuntime } from '../../src/kubelet/runtime/process/process-runtime.js';
import { startStreamingServer, type StreamingServer } from '../../src/kubelet/server/index.js';

const KUBECTL_29 = kubectlPath('29');
const HTTP_PORT = 20000 + Math.floor(Math.random() * 20000);
const HTTP_SERVER = `require('http').createServer((q, r) => r.end('hello from ' + q.url)).listen(${HTTP_PORT}, '127.0.0.1')`;

let s: TestServer | undefined;
let streaming: StreamingServer | undefined;
const dir = mkdtempSync(join(tmpdir(), 'skiff-e2e-stream-'));
const rt = new ProcessRuntime({ stateDir: join(dir, 'state'), isolation: 'none' });
const ids: Record<string, string> = {};
let sandbox = '';

async function until<T>(fn: () => Promise<T | undefined> | T | undefined, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let b = '';
      res.on('data', (d) => { b += d; });
      res.on('end', () => resolve(b));
    }).on('error', reject);
  });
}

describe('streaming with real kubectl', { skip: NO_KUBECTL }, () => {
  before(async () => {
    s = await startServer();
    sandbox = await rt.runPodSandbox({ metadata: { name: 'web', namespace: 'default', uid: 'u-web' }, logDirectory: join(dir, 'logs') });
    for (const [name, command] of [
      ['app', ['/bin/sh', '-c', 'echo one; echo two; i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done']],
      ['http', [process.execPath, '-e', HTTP_SERVER]],
    ] as const) {
      ids[name] = await rt.createContainer(sandbox, { metadata: { name }, command: [...command], logPath: `${name}/0.log` });
      await rt.startContainer(ids[name]!);
    }
    const tlsDir = join(s.dataDir, 'tls');
    streaming = await startStreamingServer({
      runtime: rt,
      port: 0,
      tls: { cert: readFileSync(join(tlsDir, 'server.crt'), 'utf8'), key: readFileSync(join(tlsDir, 'server.key'), 'utf8') },
      backend: {
        containerId: (ns, pod, c) => (ns === 'default' && pod === 'web' ? ids[c] : undefined),
        sandboxId: (ns, pod) => (ns === 'default' && pod === 'web' ? sandbox : undefined),
        logPath: async (ns, pod, c, previous) => (ns === 'default' && pod === 'web' && ids[c] && !previous ? (await rt.containerStatus(ids[c]!)).logPath : undefined),
      },
    });
    const json = { 'content-type': 'application/json' };
    const merge = { 'content-type': 'application/merge-patch+json' };
    let r = await request(s, 'POST', '/api/v1/nodes', { headers: json, body: JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'stream-node' } }) });
    assert.equal(r.status, 201, r.body.toString());
    r = await request(s, 'PATCH', '/api/v1/nodes/stream-node/status', { headers: merge, body: JSON.stringify({ status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], daemonEndpoints: { kubeletEndpoint: { Port: streaming.port } } } }) });
    assert.equal(r.status, 200, r.body.toString());
    r = await request(s, 'POST', '/api/v1/namespaces/default/pods', { headers: json, body: JSON.stringify({
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: 'web', annotations: { 'kubectl.kubernetes.io/default-container': 'app' } },
      spec: { nodeName: 'stream-node', containers: [{ name: 'app', image: 'sh' }, { name: 'http', image: 'node', ports: [{ containerPort: HTTP_PORT }] }] },
    }) });
    assert.equal(r.status, 201, r.body.toString());
    r = await request(s, 'PATCH', '/api/v1/namespaces/default/pods/web/status', { headers: merge, body: JSON.stringify({ status: { phase: 'Running', podIP: '127.0.0.1' } }) });
    assert.equal(r.status, 200, r.body.toString());
    await until(async () => (await httpGet(`http://127.0.0.1:${HTTP_PORT}/`).catch(() => '')).startsWith('hello'));
    await until(() => readFileSync(join(dir, 'logs', 'app', '0.log'), 'utf8').includes('tick 2'));
  });

  after(async () => {
    await streaming?.close();
    await cleanup(s);
    await rt.purge();
    rmSync(dir, { recursive: true, force: true });
  });

  test('kubectl logs, --tail, --timestamps, -c, and the container-name error', async () => {
    const all = await s!.k(['logs', 'web']);
    assert.match(all, /^one\ntwo\ntick 1\n/);
    const tail = await s!.k(['logs', 'web', '--tail=1']);
    assert.match(tail, /^tick \d+\n$/);
    const ts = await s!.k(['logs', 'web', '--timestamps', '--tail=2']);
    for (const line of ts.trim().split('\n')) assert.match(line, /^\d{4}-\d\d-\d\dT[\d:.]+Z tick \d+$/);
    const other = await s!.kubectl(['logs', 'web', '-c', 'nope']);
    assert.notEqual(other.code, 0);
    assert.match(other.stderr, /container nope is not valid for pod web/);
  });

  test('kubectl logs -f keeps streaming', async () => {
    const r = await s!.kubectl(['logs', '-f', 'web', '--tail=1'], { timeoutMs: 1500 });
    const ticks = r.stdout.trim().split('\n').filter((l) => l.startsWith('tick'));
    assert.ok(ticks.length >= 3, `expected several ticks, got ${JSON.stringify(r.stdout)}`);
  });

  test('kubectl exec: output, exit code 3, stdin', async () => {
    const r = await s!.kubectl(['exec', 'web', '--', 'sh', '-c', 'echo hi; exit 3']);
    assert.equal(r.stdout, 'hi\n');
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /command terminated with exit code 3/);
    const i = await s!.kubectl(['exec', '-i', 'web', '-c', 'http', '--', 'cat'], { input: 'through stdin\n' });
    assert.equal(i.code, 0, i.stderr);
    assert.equal(i.stdout, 'through stdin\n');
  });

  test('kubectl cp both ways (exec of tar)', async () => {
    const local = mkdtempSync(join(tmpdir(), 'skiff-cp-'));
    try {
      const payload = 'x'.repeat(300_000) + '\nend\n';
      writeFileSync(join(local, 'up.txt'), payload);
      await s!.k(['cp', join(local, 'up.txt'), `web:${dir}/in-pod.txt`]);
      assert.equal(readFileSync(join(dir, 'in-pod.txt'), 'utf8'), payload);
      await s!.k(['cp', `web:${dir}/in-pod.txt`, join(local, 'down.txt')]);
      assert.equal(readFileSync(join(local, 'down.txt'), 'utf8'), payload);
    } finally {
      rmSync(local, { recursive: true, force: true });
    }
  });

  async function portForward(binary?: string): Promise<void> {
    const local = 20000 + Math.floor(Math.random() * 20000);
    const child = spawn(binary ?? kubectlPath()!, ['--kubeconfig', s!.kubeconfig, 'port-forward', 'pod/web', `${local}:${HTTP_PORT}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    try {
      await until(() => out.includes('Forwarding from'), 15_000).catch(() => { throw new Error(`port-forward did not start: ${out}`); });
      assert.equal(await httpGet(`http://127.0.0.1:${local}/first`), 'hello from /first');
      assert.equal(await httpGet(`http://127.0.0.1:${local}/second`), 'hello from /second');
    } finally {
      child.kill('SIGTERM');
    }
  }

  test('kubectl port-forward (WebSocket-tunnelled SPDY) then HTTP through it', () => portForward());

  test('kubectl 1.29 (SPDY): exec exit code, stdin, logs, port-forward', { skip: KUBECTL_29 ? false : 'kubectl.1.29 not installed' }, async () => {
    const r = await s!.kubectl(['exec', 'web', '--', 'sh', '-c', 'echo spdy; exit 3'], { binary: KUBECTL_29 });
    assert.equal(r.stdout, 'spdy\n');
    assert.equal(r.code, 3, r.stderr);
    const i = await s!.kubectl(['exec', '-i', 'web', '--', 'cat'], { input: 'spdy stdin\n', binary: KUBECTL_29 });
    assert.equal(i.stdout, 'spdy stdin\n', i.stderr);
    assert.match(await s!.k(['logs', 'web', '--tail=1'], { binary: KUBECTL_29 }), /^tick \d+\n$/);
    await portForward(KUBECTL_29);
  });
});
