import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { renderKubeconfig, writeKubeconfig } from './kubeconfig.js';

const CA = '-----BEGIN CERTIFICATE-----\nMIIBfakeCA\n-----END CERTIFICATE-----\n';
const CERT = '-----BEGIN CERTIFICATE-----\nMIIBfakeClient\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIGHfakeKey\n-----END PRIVATE KEY-----\n';
const b64 = (s: string) => Buffer.from(s).toString('base64');

const dir = mkdtempSync(join(os.tmpdir(), 'skiff-kubeconfig-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('renderKubeconfig', () => {
  it('embeds the CA and client certificate and sets the current context', () => {
    const doc = parse(
      renderKubeconfig({ server: 'https://127.0.0.1:6443', caCertPem: CA, clientCertPem: CERT, clientKeyPem: KEY }),
    );
    assert.equal(doc.apiVersion, 'v1');
    assert.equal(doc.kind, 'Config');
    assert.equal(doc['current-context'], 'skiff');
    assert.deepEqual(doc.clusters, [
      { name: 'skiff', cluster: { server: 'https://127.0.0.1:6443', 'certificate-authority-data': b64(CA) } },
    ]);
    assert.deepEqual(doc.contexts, [{ name: 'skiff', context: { cluster: 'skiff', user: 'skiff-admin' } }]);
    assert.deepEqual(doc.users, [
      { name: 'skiff-admin', user: { 'client-certificate-data': b64(CERT), 'client-key-data': b64(KEY) } },
    ]);
  });

  it('supports a bearer token, custom names and a namespace', () => {
    const doc = parse(
      renderKubeconfig({
        server: 'https://10.0.0.1:6443',
        caCertPem: CA,
        token: 'abc',
        clusterName: 'c',
        user: 'u',
        context: 'x',
        namespace: 'ml',
      }),
    );
    assert.equal(doc['current-context'], 'x');
    assert.deepEqual(doc.contexts[0], { name: 'x', context: { cluster: 'c', user: 'u', namespace: 'ml' } });
    assert.deepEqual(doc.users[0], { name: 'u', user: { token: 'abc' } });
    assert.equal(doc.clusters[0].name, 'c');
  });

  it('keeps long base64 values on one line', () => {
    const long = '-----BEGIN CERTIFICATE-----\n' + 'A'.repeat(2000) + '\n-----END CERTIFICATE-----\n';
    const text = renderKubeconfig({ server: 'https://h', caCertPem: long });
    assert.ok(text.split('\n').some((l) => l.includes(`certificate-authority-data: ${b64(long)}`)));
  });

  it('refuses a certificate without its key', () => {
    assert.throws(() => renderKubeconfig({ server: 'https://h', caCertPem: CA, clientCertPem: CERT }));
  });
});

describe('writeKubeconfig', () => {
  it('writes with mode 0600, also over a laxer existing file', () => {
    const file = join(dir, 'nested', 'config');
    writeKubeconfig(file, 'a: 1\n');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    writeFileSync(file, 'old', { mode: 0o644 });
    writeKubeconfig(file, 'b: 2\n');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(readFileSync(file, 'utf8'), 'b: 2\n');
  });
});

function kubectl132(): string | undefined {
  for (const p of (process.env.PATH ?? '').split(':')) {
    const k = join(p, 'kubectl');
    if (!existsSync(k)) continue;
    const candidate = join(dirname(realpathSync(k)), 'kubectl.1.32');
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}
const kubectl = kubectl132();

describe('kubectl reads the kubeconfig', { skip: kubectl ? false : 'kubectl.1.32 not installed' }, () => {
  it('reports the current context and raw fields', async () => {
    const file = join(dir, 'kubectl-config');
    writeKubeconfig(file, renderKubeconfig({ server: 'https://127.0.0.1:6443', caCertPem: CA, token: 't0k' }));
    const out = await new Promise<string>((resolve, reject) => {
      const child = execFile(
        kubectl!,
        ['--kubeconfig', file, 'config', 'view', '--raw', '-o', 'jsonpath={.current-context} {.users[0].user.token}'],
        { timeout: 20_000, env: { ...process.env, HOME: dir } },
        (err, stdout, stderr) => (err ? reject(new Error(stderr || String(err))) : resolve(stdout)),
      );
      child.stdin?.end();
    });
    assert.equal(out, 'skiff t0k');
  });
});
