import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { canonicalIp, computeServerSans, ensurePki, issueClientCertificate, sanSetOf, type Pki } from './pki.js';

const tmpRoots: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(os.tmpdir(), 'skiff-pki-'));
  tmpRoots.push(d);
  return d;
}
/** Copies the once-generated data dir, so each test starts from existing files without paying for RSA again. */
function cloneOf(dir: string): string {
  const d = tmp();
  cpSync(join(dir, 'tls'), join(d, 'tls'), { recursive: true });
  return d;
}
function snapshot(dir: string): Map<string, Buffer> {
  const tls = join(dir, 'tls');
  return new Map(readdirSync(tls).map((f) => [f, readFileSync(join(tls, f))]));
}

const BIND = '192.0.2.10';
let base: string;
let first: Pki;

before(async () => {
  base = tmp();
  first = await ensurePki(base, { bindAddress: BIND, hostnames: ['skiff.example.com', '198.51.100.7'] });
});
after(() => {
  for (const d of tmpRoots) rmSync(d, { recursive: true, force: true });
});

describe('ensurePki', () => {
  it('creates everything on first run with private permissions', () => {
    assert.deepEqual([...first.generated].sort(), ['admin', 'ca', 'sa', 'server', 'token']);
    const tls = join(base, 'tls');
    assert.equal(statSync(tls).mode & 0o777, 0o700);
    for (const f of ['ca.key', 'server.key', 'admin.key', 'sa.key', 'admin.token']) {
      assert.equal(statSync(join(tls, f)).mode & 0o777, 0o600, f);
    }
    assert.deepEqual(readdirSync(tls).sort(), [
      'admin.crt', 'admin.key', 'admin.token', 'ca.crt', 'ca.key', 'sa.key', 'sa.pub', 'server.crt', 'server.key',
    ]);
    assert.equal(readFileSync(first.caCertPath, 'utf8'), first.caCertPem);
    assert.equal(readFileSync(first.adminTokenPath, 'utf8').trim(), first.adminToken);
    assert.ok(first.adminToken.length >= 40);
  });

  it('regenerates nothing on a second run: files byte-identical', async () => {
    const dir = cloneOf(base);
    const before = snapshot(dir);
    const again = await ensurePki(dir, { bindAddress: BIND, hostnames: ['skiff.example.com', '198.51.100.7'] });
    assert.deepEqual(again.generated, []);
    assert.deepEqual(snapshot(dir), before);
    assert.equal(again.caCertPem, first.caCertPem);
    assert.equal(again.serverCertPem, first.serverCertPem);
    assert.equal(again.adminKeyPem, first.adminKeyPem);
    assert.equal(again.adminToken, first.adminToken);
    assert.equal(again.saPrivateKeyPem, first.saPrivateKeyPem);
  });

  it('makes a 10-year self-signed ECDSA CA', () => {
    const ca = new X509Certificate(first.caCertPem);
    assert.ok(ca.ca);
    assert.match(ca.subject, /^CN=skiff-ca@\d+$/);
    assert.ok(ca.checkIssued(ca) && ca.verify(ca.publicKey));
    assert.equal(ca.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const years = (Date.parse(ca.validTo) - Date.now()) / (365 * 24 * 3600 * 1000);
    assert.ok(years > 9.9 && years < 10.1, `CA valid ${years} years`);
  });

  it('signs a serving certificate with the required SANs', () => {
    const cert = new X509Certificate(first.serverCertPem);
    const ca = new X509Certificate(first.caCertPem);
    assert.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey));
    assert.ok(!cert.ca);
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1']);
    const sans = sanSetOf(cert);
    for (const dns of [
      'localhost',
      os.hostname().toLowerCase(),
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      'kubernetes.default.svc.cluster.local',
      'skiff.example.com',
    ]) {
      assert.ok(sans.dns.includes(dns), `missing DNS ${dns}`);
    }
    for (const ip of ['127.0.0.1', '::1', BIND, '10.43.0.1', '198.51.100.7']) {
      assert.ok(sans.ips.includes(canonicalIp(ip)), `missing IP ${ip}`);
    }
    assert.deepEqual(sans, first.serverSans);
    assert.ok(cert.checkHost('kubernetes.default.svc') && cert.checkIP('10.43.0.1') && cert.checkIP('::1'));
  });

  it('puts every non-internal interface address in the SANs when binding all interfaces', () => {
    const sans = computeServerSans({ bindAddress: '0.0.0.0' });
    for (const addrs of Object.values(os.networkInterfaces())) {
      for (const a of addrs ?? []) {
        if (a.internal || a.address.startsWith('fe80')) continue;
        assert.ok(sans.ips.includes(canonicalIp(a.address)), a.address);
      }
    }
    assert.ok(!sans.ips.includes('0.0.0.0'));
    assert.deepEqual(computeServerSans({ bindAddress: '::' }), sans);
  });

  it('issues an admin client certificate for system:admin in system:masters', () => {
    const cert = new X509Certificate(first.adminCertPem);
    assert.equal(cert.subject, 'CN=system:admin\nO=system:masters');
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2']);
    assert.ok(cert.checkIssued(new X509Certificate(first.caCertPem)));
    assert.ok(cert.checkPrivateKey(createPrivateKey(first.adminKeyPem)));
  });

  it('keeps an RSA 2048 service-account key pair', () => {
    const key = createPrivateKey(first.saPrivateKeyPem);
    assert.equal(key.asymmetricKeyType, 'rsa');
    assert.equal(key.asymmetricKeyDetails?.modulusLength, 2048);
    assert.match(first.saPublicKeyPem, /BEGIN PUBLIC KEY/);
  });

  it('re-issues only the serving certificate (same key) when the SAN set changes', async () => {
    const dir = cloneOf(base);
    const before = snapshot(dir);
    const pki = await ensurePki(dir, { bindAddress: BIND, hostnames: ['other.example.com'] });
    assert.deepEqual(pki.generated, ['server']);
    const after = snapshot(dir);
    for (const [f, data] of before) {
      if (f === 'server.crt') assert.notDeepEqual(after.get(f), data);
      else assert.deepEqual(after.get(f), data, f);
    }
    const sans = sanSetOf(new X509Certificate(pki.serverCertPem));
    assert.ok(sans.dns.includes('other.example.com') && !sans.dns.includes('skiff.example.com'));
  });

  it('renews leaves that expire within 30 days but keeps the CA', async () => {
    const dir = cloneOf(base);
    const later = new Date(Date.now() + 340 * 24 * 3600 * 1000);
    const pki = await ensurePki(dir, {
      bindAddress: BIND,
      hostnames: ['skiff.example.com', '198.51.100.7'],
      now: later,
    });
    assert.deepEqual([...pki.generated].sort(), ['admin', 'server']);
    assert.equal(pki.caCertPem, first.caCertPem);
    assert.ok(Date.parse(new X509Certificate(pki.serverCertPem).validTo) > later.getTime() + 300 * 24 * 3600 * 1000);
  });

  it('repairs damaged or missing files without rotating what is intact', async () => {
    const dir = cloneOf(base);
    const tls = join(dir, 'tls');
    writeFileSync(join(tls, 'server.crt'), 'garbage');
    unlinkSync(join(tls, 'sa.pub'));
    unlinkSync(join(tls, 'admin.token'));
    const pki = await ensurePki(dir, { bindAddress: BIND, hostnames: ['skiff.example.com', '198.51.100.7'] });
    assert.deepEqual([...pki.generated].sort(), ['sa', 'server', 'token']);
    assert.equal(pki.saPrivateKeyPem, first.saPrivateKeyPem, 'SA key kept, public half re-derived');
    assert.equal(pki.saPublicKeyPem, first.saPublicKeyPem);
    assert.equal(pki.serverKeyPem, first.serverKeyPem);
    assert.notEqual(pki.adminToken, first.adminToken);
  });

  it('re-issues every leaf under a new CA when the CA key is lost', async () => {
    const dir = cloneOf(base);
    unlinkSync(join(dir, 'tls', 'ca.key'));
    const pki = await ensurePki(dir, { bindAddress: BIND, hostnames: ['skiff.example.com', '198.51.100.7'] });
    assert.deepEqual([...pki.generated].sort(), ['admin', 'ca', 'server']);
    const ca = new X509Certificate(pki.caCertPem);
    assert.ok(new X509Certificate(pki.serverCertPem).verify(ca.publicKey));
    assert.ok(new X509Certificate(pki.adminCertPem).verify(ca.publicKey));
  });

  it('issues further client certificates from the CA', async () => {
    const { certPem, keyPem } = await issueClientCertificate(first, {
      commonName: 'system:node:worker-1',
      organizations: ['system:nodes'],
    });
    const cert = new X509Certificate(certPem);
    assert.equal(cert.subject, 'CN=system:node:worker-1\nO=system:nodes');
    assert.ok(cert.verify(new X509Certificate(first.caCertPem).publicKey));
    assert.ok(cert.checkPrivateKey(createPrivateKey(keyPem)));
  });
});

describe('canonicalIp', () => {
  it('normalises IPv6 spellings', () => {
    assert.equal(canonicalIp('::1'), '0:0:0:0:0:0:0:1');
    assert.equal(canonicalIp('0:0:0:0:0:0:0:1'), '0:0:0:0:0:0:0:1');
    assert.equal(canonicalIp('FD00::0002'), 'fd00:0:0:0:0:0:0:2');
    assert.equal(canonicalIp('::ffff:10.0.0.1'), '0:0:0:0:0:ffff:a00:1');
    assert.equal(canonicalIp('::'), '0:0:0:0:0:0:0:0');
    assert.equal(canonicalIp('10.1.2.3'), '10.1.2.3');
  });
});
