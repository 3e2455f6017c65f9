import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { inClusterConfig, loadDefaultConfig, loadKubeconfig, parseKubeconfig } from './config.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

const KUBECONFIG = `
apiVersion: v1
kind: Config
current-context: admin@skiff
clusters:
- name: skiff
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority-data: ${b64('CA PEM')}
- name: other
  cluster:
    server: https://10.0.0.1:6443
    certificate-authority: ca.crt
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    client-certificate-data: ${b64('CERT PEM')}
    client-key-data: ${b64('KEY PEM')}
- name: bot
  user:
    token: abc
contexts:
- name: admin@skiff
  context: { cluster: skiff, user: admin, namespace: team-a }
- name: bot@other
  context: { cluster: other, user: bot }
`;

test('loadKubeconfig reads the current context with embedded data fields', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-'));
  writeFileSync(join(dir, 'config'), KUBECONFIG);
  const cfg = loadKubeconfig(join(dir, 'config'));
  assert.deepEqual(cfg, { server: 'https://127.0.0.1:6443', ca: 'CA PEM', cert: 'CERT PEM', key: 'KEY PEM', namespace: 'team-a' });
});

test('loadKubeconfig resolves file paths relative to the kubeconfig and honours an explicit context', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-'));
  writeFileSync(join(dir, 'config'), KUBECONFIG);
  writeFileSync(join(dir, 'ca.crt'), 'FILE CA');
  const cfg = loadKubeconfig(join(dir, 'config'), { context: 'bot@other' });
  assert.deepEqual(cfg, { server: 'https://10.0.0.1:6443', ca: 'FILE CA', insecureSkipTLSVerify: true, token: 'abc' });
});

test('parseKubeconfig names what is missing', () => {
  const cases: Array<{ name: string; text: string; ctx?: string; want: RegExp }> = [
    { name: 'no current context', text: 'clusters: []', want: /no current-context/ },
    { name: 'unknown context', text: KUBECONFIG, ctx: 'nope', want: /context "nope" not found/ },
    { name: 'unknown cluster', text: 'current-context: c\ncontexts: [{name: c, context: {cluster: x}}]', want: /cluster "x" not found/ },
    { name: 'no server', text: 'current-context: c\ncontexts: [{name: c, context: {cluster: x}}]\nclusters: [{name: x, cluster: {}}]', want: /has no server/ },
  ];
  for (const c of cases) assert.throws(() => parseKubeconfig(c.text, '/', { context: c.ctx }), c.want, c.name);
});

test('inClusterConfig reads the service account mount', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sa-'));
  writeFileSync(join(dir, 'token'), 'tok\n');
  writeFileSync(join(dir, 'ca.crt'), 'SA CA');
  writeFileSync(join(dir, 'namespace'), 'kube-system');
  const cfg = inClusterConfig({ dir, env: { KUBERNETES_SERVICE_HOST: '10.43.0.1', KUBERNETES_SERVICE_PORT: '443' } });
  assert.deepEqual(cfg, { server: 'https://10.43.0.1:443', tokenFile: join(dir, 'token'), ca: 'SA CA', namespace: 'kube-system' });
  const v6 = inClusterConfig({ dir, env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' } });
  assert.equal(v6.server, 'https://[fd00::1]:443');
  assert.throws(() => inClusterConfig({ dir, env: {} }), /KUBERNETES_SERVICE_HOST/);
});

test('loadDefaultConfig prefers $KUBECONFIG', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-'));
  writeFileSync(join(dir, 'config'), KUBECONFIG);
  assert.equal(loadDefaultConfig({ KUBECONFIG: `${join(dir, 'config')}:/nonexistent`, HOME: dir }).server, 'https://127.0.0.1:6443');
  const home = mkdtempSync(join(tmpdir(), 'home-'));
  assert.throws(() => loadDefaultConfig({ HOME: home }), /KUBERNETES_SERVICE_HOST/, 'falls through to in-cluster');
});
