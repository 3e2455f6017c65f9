import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createAuthenticator, type Authenticator } from './authn.js';
import { renderKubeconfig, writeKubeconfig } from './kubeconfig.js';
import { ensurePki, issueClientCertificate, type Pki } from './pki.js';
import { issueServiceAccountToken } from './tokens.js';

let dir: string;
let pki: Pki;
let authn: Authenticator;
let server: https.Server;
let port: number;

/** A tiny API server stand-in: 200 with the user as JSON when authenticated, 401 otherwise. */
function startServer(): Promise<void> {
  server = https.createServer(
    { cert: pki.serverCertPem, key: pki.serverKeyPem, ca: [pki.caCertPem], requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      const user = authn.authenticate(req);
      res.writeHead(user ? 200 : 401, { 'content-type': 'application/json' });
      res.end(JSON.stringify(user ?? { kind: 'Status', code: 401 }));
    },
  );
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      port = (server.address() as AddressInfo).port;
      resolve();
    }),
  );
}

interface CallOpts {
  cert?: string;
  key?: string;
  token?: string;
  ca?: string;
}
function call(opts: CallOpts = {}): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: '/api',
        ca: opts.ca ?? pki.caCertPem,
        cert: opts.cert,
        key: opts.key,
        agent: false,
        headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(data) }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  dir = mkdtempSync(join(os.tmpdir(), 'skiff-authn-'));
  pki = await ensurePki(dir, { bindAddress: '127.0.0.1' });
  authn = createAuthenticator(pki);
  await startServer();
});
after(() => {
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('authenticate over real TLS', () => {
  it('maps the admin client certificate to system:admin in system:masters', async () => {
    const r = await call({ cert: pki.adminCertPem, key: pki.adminKeyPem });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { username: 'system:admin', groups: ['system:masters', 'system:authenticated'] });
  });

  it('rejects a request with no credentials or a wrong bearer token', async () => {
    assert.equal((await call()).status, 401);
    assert.equal((await call({ token: 'not-the-token' })).status, 401);
    assert.equal((await call({ token: pki.adminToken.slice(0, -1) })).status, 401);
  });

  it('accepts the admin bearer token', async () => {
    const r = await call({ token: pki.adminToken });
    assert.equal(r.status, 200);
    assert.equal(r.body.username, 'system:admin');
    assert.ok(r.body.groups.includes('system:masters'));
  });

  it('accepts registered static tokens until removed', async () => {
    const token = 'node-token-0123456789abcdef';
    authn.addToken(token, { username: 'system:node:n1', groups: ['system:nodes'] });
    const r = await call({ token });
    assert.deepEqual(r.body, { username: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] });
    assert.ok(authn.removeToken(token));
    assert.equal((await call({ token })).status, 401);
  });

  it('accepts service-account tokens of the right audience only', async () => {
    const { token } = issueServiceAccountToken(pki, {
      namespace: 'ml',
      name: 'trainer',
      uid: 'sa-uid',
      boundObject: { kind: 'Pod', name: 'job-0', uid: 'pod-uid' },
    });
    const r = await call({ token });
    assert.equal(r.status, 200);
    assert.equal(r.body.username, 'system:serviceaccount:ml:trainer');
    assert.equal(r.body.uid, 'sa-uid');
    assert.deepEqual(r.body.groups, ['system:serviceaccounts', 'system:serviceaccounts:ml', 'system:authenticated']);
    assert.deepEqual(r.body.extra['authentication.kubernetes.io/pod-name'], ['job-0']);
    const wrongAud = issueServiceAccountToken(pki, { namespace: 'ml', name: 'trainer', uid: 'u', audiences: ['vault'] });
    assert.equal((await call({ token: wrongAud.token })).status, 401);
    const tampered = token.slice(0, -3) + (token.endsWith('AAA') ? 'BBB' : 'AAA');
    assert.equal((await call({ token: tampered })).status, 401);
  });

  it('honours the validateServiceAccount hook', async () => {
    const strict = createAuthenticator(pki, { validateServiceAccount: (c) => c['kubernetes.io'].namespace !== 'ml' });
    const { token } = issueServiceAccountToken(pki, { namespace: 'ml', name: 'x', uid: 'u' });
    const saved = authn;
    authn = strict;
    try {
      assert.equal((await call({ token })).status, 401);
    } finally {
      authn = saved;
    }
  });

  it('accepts other CA-issued client certificates with their CN and O', async () => {
    const { certPem, keyPem } = await issueClientCertificate(pki, {
      commonName: 'system:node:worker-1',
      organizations: ['system:nodes', 'team-a'],
    });
    const r = await call({ cert: certPem, key: keyPem });
    assert.deepEqual(r.body, {
      username: 'system:node:worker-1',
      groups: ['system:nodes', 'team-a', 'system:authenticated'],
    });
  });

  it('ignores certificates from a foreign CA and server certificates used as client certificates', async () => {
    const otherDir = mkdtempSync(join(os.tmpdir(), 'skiff-authn-other-'));
    try {
      // A different CA issuing the same subject must not pass.
      const other = await ensurePki(otherDir, { bindAddress: '127.0.0.1' });
      assert.notEqual(other.caCertPem, pki.caCertPem);
      assert.equal((await call({ cert: other.adminCertPem, key: other.adminKeyPem })).status, 401);
    } finally {
      rmSync(otherDir, { recursive: true, force: true });
    }
    // Our own serving certificate lacks clientAuth.
    assert.equal((await call({ cert: pki.serverCertPem, key: pki.serverKeyPem })).status, 401);
  });

  it('prefers the client certificate over a bad token, like upstream', async () => {
    const r = await call({ cert: pki.adminCertPem, key: pki.adminKeyPem, token: 'junk' });
    assert.equal(r.status, 200);
  });
});

/** The kubectl 1.32 binary that sits beside the `kubectl` dispatcher, when installed. */
function kubectl132(): string | undefined {
  for (const p of (process.env.PATH ?? '').split(':')) {
    const k = join(p, 'kubectl');
    if (!existsSync(k)) continue;
    const real = realpathSync(k);
    const candidate = join(dirname(real), 'kubectl.1.32');
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

function run(bin: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // Asynchronous on purpose: the test server answering kubectl lives in this very event loop.
    const child = execFile(bin, args, { timeout: 20_000, env: { ...process.env, HOME: dir } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    // kubectl prompts for a username when a kubeconfig user has no credentials; EOF answers it.
    child.stdin?.end();
  });
}

const kubectl = kubectl132();

describe('kubectl accepts the generated kubeconfig', { skip: kubectl ? false : 'kubectl.1.32 not installed' }, () => {
  it('with the admin client certificate', async () => {
    const file = join(dir, 'kube', 'admin.yaml');
    writeKubeconfig(
      file,
      renderKubeconfig({
        server: `https://127.0.0.1:${port}`,
        caCertPem: pki.caCertPem,
        clientCertPem: pki.adminCertPem,
        clientKeyPem: pki.adminKeyPem,
      }),
    );
    const ctx = await run(kubectl!, ['--kubeconfig', file, 'config', 'view', '--raw', '-o', 'jsonpath={.current-context}']);
    assert.equal(ctx.code, 0, ctx.stderr);
    assert.equal(ctx.stdout, 'skiff');
    const r = await run(kubectl!, ['--kubeconfig', file, 'get', '--raw', '/x']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).username, 'system:admin');
  });

  it('with the admin token, and is refused with a wrong one', async () => {
    const file = join(dir, 'kube', 'token.yaml');
    writeKubeconfig(
      file,
      renderKubeconfig({ server: `https://127.0.0.1:${port}`, caCertPem: pki.caCertPem, token: pki.adminToken }),
    );
    const r = await run(kubectl!, ['--kubeconfig', file, 'get', '--raw', '/x']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).username, 'system:admin');

    const wrong = join(dir, 'kube', 'wrong-token.yaml');
    writeKubeconfig(
      wrong,
      renderKubeconfig({ server: `https://127.0.0.1:${port}`, caCertPem: pki.caCertPem, token: 'wrong' }),
    );
    const denied = await run(kubectl!, ['--kubeconfig', wrong, 'get', '--raw', '/x']);
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /must be logged in/);
  });

  it('refuses a server whose certificate the embedded CA did not sign', async () => {
    const file = join(dir, 'kube', 'wrong-ca.yaml');
    const otherCa = new X509Certificate(pki.adminCertPem).toString(); // any certificate that is not our CA
    writeKubeconfig(
      file,
      renderKubeconfig({ server: `https://127.0.0.1:${port}`, caCertPem: otherCa, token: pki.adminToken }),
    );
    const r = await run(kubectl!, ['--kubeconfig', file, 'get', '--raw', '/x']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /certificate/i);
  });
});
