/**
 * Helpers shared by the pod-network end-to-end tests (network.test.ts, network-multinode.test.ts): the skip reason,
 * the host sysctls they change (saved and restored), `skiff network-cleanup`, YAML streams and TLS certificates.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { stringify as stringifyYaml } from 'yaml';
import { selfSignedCertificate } from '../../src/apiserver/auth/pki.js';
import { KUBECTL, SKIFF_BIN } from './harness.js';

/** `{ skip }` reason when kubectl, root or the CNI plugins are missing; `what` names the tests skipped. */
export function networkSkip(what: string, rootFor = 'the bridge pod network needs root'): string | false {
  if (!KUBECTL) return `kubectl is not installed on PATH: ${what} SKIPPED`;
  if (process.getuid?.() !== 0) return `not root: ${rootFor}; ${what} SKIPPED`;
  if (!existsSync('/usr/lib/cni/bridge')) return `containernetworking-plugins not installed (/usr/lib/cni/bridge): ${what} SKIPPED`;
  return false;
}

const SYSCTLS = ['/proc/sys/net/ipv4/ip_forward', '/proc/sys/net/ipv4/conf/all/route_localnet', '/proc/sys/net/bridge/bridge-nf-call-iptables'];

/** Reads the sysctls the pod network turns on; the returned function writes the saved values back. */
export function saveSysctls(): () => void {
  const saved = new Map<string, string>();
  for (const f of SYSCTLS) if (existsSync(f)) saved.set(f, readFileSync(f, 'utf8').trim());
  return () => {
    for (const [f, v] of saved) {
      try { writeFileSync(f, `${v}\n`); } catch (e) { process.stderr.write(`restoring ${f}: ${String(e)}\n`); }
    }
  };
}

/** Runs `skiff network-cleanup` for one node's data dir (inside `netns` when given); reports a failure on stderr. */
export function networkCleanup(dataDir: string, o: { bridge: string; clusterCidr: string; chainPrefix: string; netns?: string }): void {
  const args = [SKIFF_BIN, 'network-cleanup', '--data-dir', dataDir, `--bridge-name=${o.bridge}`, `--cluster-cidr=${o.clusterCidr}`, `--proxy-chain-prefix=${o.chainPrefix}`];
  const r = o.netns
    ? spawnSync('ip', ['netns', 'exec', o.netns, process.execPath, ...args], { encoding: 'utf8' })
    : spawnSync(process.execPath, args, { encoding: 'utf8' });
  if (r.status !== 0) process.stderr.write(`network-cleanup failed: ${r.stderr}\n`);
}

/** A multi-document YAML stream for `kubectl apply -f -`. */
export const yamlDocs = (objs: object[]): string => objs.map((o) => stringifyYaml(o)).join('---\n');

/** A self-signed certificate whose CN and DNS SAN are `host`. */
export async function hostCert(host: string): Promise<{ certPem: string; keyPem: string }> {
  await selfSignedCertificate(); // installs the reflect-metadata shim @peculiar/x509 needs
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(globalThis.crypto);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await crypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01', name: `CN=${host}`, notBefore: new Date(Date.now() - 3600_000), notAfter: new Date(Date.now() + 86400_000),
    keys, signingAlgorithm: alg, extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: host }])],
  });
  const pkcs8 = Buffer.from(await crypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  return { certPem: cert.toString('pem'), keyPem: `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n` };
}
