/**
 * The security material `skiff server` needs, kept under `<dataDir>/tls/`: a self-signed CA, a serving certificate,
 * an admin client certificate, the service-account signing key pair and an admin bearer token.
 *
 * Cold start matters: on a restart with valid files nothing is generated, files are only read and checked with
 * Node's native X509 parser (a few milliseconds). `@peculiar/x509` is imported lazily, only when something has to be
 * signed, so its load time is not paid on the common path.
 */

import { createPrivateKey, createPublicKey, generateKeyPair, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';

/** Everything the API server, kubeconfig writer and token issuer need, as PEM text plus where each file lives. */
export interface Pki {
  /** The `tls` directory holding all files. */
  dir: string;
  caCertPem: string;
  /** Kept in memory so the server can later sign node client certificates (see {@link issueClientCertificate}). */
  caKeyPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  adminCertPem: string;
  adminKeyPem: string;
  /** Random bearer token granting `system:admin` in `system:masters`: an alternative to the admin certificate. */
  adminToken: string;
  /** RSA 2048 private key (PKCS#8 PEM) that signs service-account JWTs. */
  saPrivateKeyPem: string;
  /** Matching SPKI PEM public key that verifies service-account JWTs. */
  saPublicKeyPem: string;
  caCertPath: string;
  caKeyPath: string;
  serverCertPath: string;
  serverKeyPath: string;
  adminCertPath: string;
  adminKeyPath: string;
  adminTokenPath: string;
  saKeyPath: string;
  saPubPath: string;
  /** The subject alternative names the serving certificate carries (DNS names lower-cased, IPs canonical). */
  serverSans: SanSet;
  /** Which pieces this call created or re-issued (`ca`, `server`, `admin`, `sa`, `token`); empty on a warm restart. */
  generated: string[];
}

/** Options for {@link ensurePki}. */
export interface PkiOptions {
  /** The address the API server binds; `0.0.0.0`/`::` (or empty) means "every interface address goes in the SANs". */
  bindAddress: string;
  /** Extra DNS names or IP addresses for the serving certificate (e.g. a load balancer name). */
  hostnames?: string[];
  /** The in-cluster `kubernetes` Service IP; defaults to {@link DEFAULT_SERVICE_IP}. */
  serviceIp?: string;
  /** Clock override, for tests of the expiry rules. */
  now?: Date;
}

/** DNS names and IP addresses of a certificate, normalised so two sets compare with plain string equality. */
export interface SanSet {
  dns: string[];
  ips: string[];
}

/** First address of the default service CIDR 10.43.0.0/16, where the `kubernetes` Service lives (as in k3s). */
export const DEFAULT_SERVICE_IP = '10.43.0.1';

/** Leaf certificates (and the CA) are renewed when they would expire within this window. */
export const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;

const DAY_MS = 24 * 3600 * 1000;
const CA_VALIDITY_MS = 3650 * DAY_MS;
const LEAF_VALIDITY_MS = 365 * DAY_MS;
/** Backdating notBefore tolerates a little clock skew between the server and its clients. */
const BACKDATE_MS = 3600 * 1000;

const IN_CLUSTER_NAMES = [
  'kubernetes',
  'kubernetes.default',
  'kubernetes.default.svc',
  'kubernetes.default.svc.cluster.local',
];

/**
 * Makes sure `<dataDir>/tls/` holds a valid CA, serving certificate, admin client certificate, service-account key
 * pair and admin token, creating only what is missing, invalid, about to expire or (for the serving certificate) no
 * longer matching the wanted SAN set. The CA and service-account key are long-lived and kept across restarts.
 */
export async function ensurePki(dataDir: string, opts: PkiOptions): Promise<Pki> {
  const now = opts.now ?? new Date();
  const dir = join(dataDir, 'tls');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const p = (name: string) => join(dir, name);
  const paths = {
    caCertPath: p('ca.crt'),
    caKeyPath: p('ca.key'),
    serverCertPath: p('server.crt'),
    serverKeyPath: p('server.key'),
    adminCertPath: p('admin.crt'),
    adminKeyPath: p('admin.key'),
    adminTokenPath: p('admin.token'),
    saKeyPath: p('sa.key'),
    saPubPath: p('sa.pub'),
  };
  const generated: string[] = [];

  // The RSA key is the slowest thing to make; start it first so it overlaps the certificate work.
  const sa = loadSaKeys(paths.saKeyPath, paths.saPubPath);
  const saRecovered = sa ? undefined : readPrivateKeyPem(paths.saKeyPath, 'rsa');
  const saPending = sa || saRecovered ? undefined : generateRsaKeyPair();
  // Observed at once so a failure while the certificates are being made is not an unhandled rejection;
  // the awaited promise below still rejects.
  saPending?.catch(() => undefined);

  let ca = loadCa(paths.caCertPath, paths.caKeyPath, now);
  if (!ca) {
    ca = await createCa(now);
    writeAtomic(paths.caKeyPath, ca.keyPem, 0o600);
    writeAtomic(paths.caCertPath, ca.certPem, 0o644);
    generated.push('ca');
  }

  const wantedSans = computeServerSans(opts);
  let server = loadLeaf(paths.serverCertPath, paths.serverKeyPath, ca, now);
  if (!server || !sameSans(sanSetOf(server.cert), wantedSans)) {
    // Re-use an intact key: only the certificate has to change when the SANs move.
    const keyPem = server?.keyPem ?? readPrivateKeyPem(paths.serverKeyPath, 'ec');
    server = await createLeaf(ca, now, {
      subject: [{ CN: ['skiff-apiserver'] }],
      sans: wantedSans,
      usage: 'server',
      keyPem,
    });
    writeAtomic(paths.serverKeyPath, server.keyPem, 0o600);
    writeAtomic(paths.serverCertPath, server.certPem, 0o644);
    generated.push('server');
  }

  let admin = loadLeaf(paths.adminCertPath, paths.adminKeyPath, ca, now);
  if (admin && !isAdminSubject(admin.cert)) admin = undefined;
  if (!admin) {
    admin = await createLeaf(ca, now, {
      subject: [{ CN: ['system:admin'] }, { O: ['system:masters'] }],
      usage: 'client',
      keyPem: readPrivateKeyPem(paths.adminKeyPath, 'ec'),
    });
    writeAtomic(paths.adminKeyPath, admin.keyPem, 0o600);
    writeAtomic(paths.adminCertPath, admin.certPem, 0o644);
    generated.push('admin');
  }

  let adminToken = readText(paths.adminTokenPath)?.trim();
  if (!adminToken || adminToken.length < 32) {
    adminToken = randomBytes(32).toString('base64url');
    writeAtomic(paths.adminTokenPath, adminToken + '\n', 0o600);
    generated.push('token');
  }

  let saKeys = sa;
  if (!saKeys) {
    const pub = readText(paths.saPubPath);
    const priv = saRecovered;
    if (priv) {
      // The private key survived but the public half is missing or stale: derive it rather than rotate the key,
      // which would invalidate every issued token.
      saKeys = { privateKeyPem: priv, publicKeyPem: publicPemOf(createPrivateKey(priv)) };
      if (pub !== saKeys.publicKeyPem) writeAtomic(paths.saPubPath, saKeys.publicKeyPem, 0o644);
    } else {
      saKeys = await saPending!;
      writeAtomic(paths.saKeyPath, saKeys.privateKeyPem, 0o600);
      writeAtomic(paths.saPubPath, saKeys.publicKeyPem, 0o644);
    }
    generated.push('sa');
  }

  return {
    dir,
    ...paths,
    caCertPem: ca.certPem,
    caKeyPem: ca.keyPem,
    serverCertPem: server.certPem,
    serverKeyPem: server.keyPem,
    adminCertPem: admin.certPem,
    adminKeyPem: admin.keyPem,
    adminToken,
    saPrivateKeyPem: saKeys.privateKeyPem,
    saPublicKeyPem: saKeys.publicKeyPem,
    serverSans: wantedSans,
    generated,
  };
}

/** Options for {@link issueClientCertificate}. */
export interface ClientCertificateRequest {
  /** Becomes the username, e.g. `system:node:worker-1`. */
  commonName: string;
  /** Become the groups, e.g. `system:nodes`. */
  organizations?: string[];
  /** Defaults to 365 days. */
  validityDays?: number;
  now?: Date;
}

/**
 * Signs a fresh client certificate (new ECDSA P-256 key) with the cluster CA, so other components — the node agent
 * first — can authenticate with mTLS the same way the admin does.
 */
export async function issueClientCertificate(
  pki: Pick<Pki, 'caCertPem' | 'caKeyPem'>,
  req: ClientCertificateRequest,
): Promise<{ certPem: string; keyPem: string }> {
  const now = req.now ?? new Date();
  const ca: KeyedCert = { certPem: pki.caCertPem, keyPem: pki.caKeyPem, cert: new X509Certificate(pki.caCertPem) };
  const subject: Record<string, string[]>[] = [{ CN: [req.commonName] }];
  for (const o of req.organizations ?? []) subject.push({ O: [o] });
  const leaf = await createLeaf(ca, now, {
    subject,
    usage: 'client',
    validityMs: (req.validityDays ?? 365) * DAY_MS,
  });
  return { certPem: leaf.certPem, keyPem: leaf.keyPem };
}

/**
 * The SAN set the serving certificate must carry for `opts`: loopback names, the host name, the bind address (or
 * every non-internal interface address when binding all interfaces), extra host names, the in-cluster `kubernetes`
 * names and the `kubernetes` Service IP.
 */
export function computeServerSans(opts: PkiOptions): SanSet {
  const dns = new Set<string>(['localhost', ...IN_CLUSTER_NAMES]);
  const ips = new Set<string>(['127.0.0.1', '::1'].map(canonicalIp));
  const add = (name: string) => {
    const n = name.trim().replace(/^\[(.*)\]$/, '$1');
    if (n === '') return;
    if (isIP(n)) ips.add(canonicalIp(n));
    else dns.add(n.toLowerCase());
  };
  add(os.hostname());
  const bind = opts.bindAddress.trim();
  if (bind === '' || bind === '0.0.0.0' || bind === '::' || bind === '[::]') {
    for (const addrs of Object.values(os.networkInterfaces())) {
      for (const a of addrs ?? []) {
        // Link-local IPv6 addresses need a zone id to be dialled, which no URL a client builds carries.
        if (a.internal || /^fe80:/i.test(a.address)) continue;
        add(a.address);
      }
    }
  } else {
    add(bind);
  }
  for (const h of opts.hostnames ?? []) add(h);
  add(opts.serviceIp ?? DEFAULT_SERVICE_IP);
  return { dns: [...dns].sort(), ips: [...ips].sort() };
}

/** Reads the DNS and IP subject alternative names of a certificate into a normalised {@link SanSet}. */
export function sanSetOf(cert: X509Certificate): SanSet {
  const dns = new Set<string>();
  const ips = new Set<string>();
  for (const entry of splitSanString(cert.subjectAltName ?? '')) {
    const colon = entry.indexOf(':');
    if (colon < 0) continue;
    const kind = entry.slice(0, colon);
    let value = entry.slice(colon + 1);
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        continue;
      }
    }
    if (kind === 'DNS') dns.add(value.toLowerCase());
    else if (kind === 'IP Address' && isIP(value)) ips.add(canonicalIp(value));
  }
  return { dns: [...dns].sort(), ips: [...ips].sort() };
}

/** Writes IPv4 unchanged and IPv6 fully expanded without leading zeros, so `::1` and `0:0:0:0:0:0:0:1` compare equal. */
export function canonicalIp(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  let text = ip.toLowerCase();
  // An embedded dotted quad (`::ffff:1.2.3.4`) becomes two hex groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number);
    text = text.slice(0, v4.index) + ((a << 8) | b).toString(16) + ':' + ((c << 8) | d).toString(16);
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return groups.map((g) => parseInt(g, 16).toString(16)).join(':');
}

// ---------------------------------------------------------------------------------------------------------------

interface KeyedCert {
  certPem: string;
  keyPem: string;
  cert: X509Certificate;
}

function sameSans(a: SanSet, b: SanSet): boolean {
  return a.dns.join(',') === b.dns.join(',') && a.ips.join(',') === b.ips.join(',');
}

/** Splits Node's `subjectAltName` text on `, `, leaving quoted values (which may contain commas) intact. */
function splitSanString(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === '"' && s[i - 1] !== '\\') quoted = !quoted;
    if (!quoted && ch === ',' && s[i + 1] === ' ') {
      out.push(cur);
      cur = '';
      i++;
      continue;
    }
    cur += ch;
  }
  if (cur) out.push(cur);
  return out;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Reads a private key file if it parses as a key of the wanted type, so a damaged key is replaced, not reused. */
function readPrivateKeyPem(path: string, type: 'ec' | 'rsa'): string | undefined {
  const pem = readText(path);
  if (!pem) return undefined;
  try {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== type) return undefined;
    if (type === 'ec' && key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') return undefined;
    return pem;
  } catch {
    return undefined;
  }
}

function publicPemOf(key: KeyObject): string {
  return createPublicKey(key).export({ type: 'spki', format: 'pem' }) as string;
}

function expiresSoon(cert: X509Certificate, now: Date): boolean {
  const notAfter = Date.parse(cert.validTo);
  const notBefore = Date.parse(cert.validFrom);
  return !(notAfter - now.getTime() > RENEW_BEFORE_MS) || notBefore > now.getTime() + BACKDATE_MS;
}

/** Loads the CA if its certificate and key both parse, match, are a CA and are not about to expire. */
function loadCa(certPath: string, keyPath: string, now: Date): KeyedCert | undefined {
  const certPem = readText(certPath);
  const keyPem = readText(keyPath);
  if (!certPem || !keyPem) return undefined;
  try {
    const cert = new X509Certificate(certPem);
    const key = createPrivateKey(keyPem);
    if (!cert.ca || !cert.checkPrivateKey(key) || expiresSoon(cert, now)) return undefined;
    return { certPem, keyPem, cert };
  } catch {
    return undefined;
  }
}

/** Loads a leaf certificate if it and its key parse, match, were issued by `ca` and are not about to expire. */
function loadLeaf(certPath: string, keyPath: string, ca: KeyedCert, now: Date): KeyedCert | undefined {
  const certPem = readText(certPath);
  const keyPem = readText(keyPath);
  if (!certPem || !keyPem) return undefined;
  try {
    const cert = new X509Certificate(certPem);
    const key = createPrivateKey(keyPem);
    if (!cert.checkPrivateKey(key) || expiresSoon(cert, now)) return undefined;
    if (!cert.checkIssued(ca.cert) || !cert.verify(ca.cert.publicKey)) return undefined;
    return { certPem, keyPem, cert };
  } catch {
    return undefined;
  }
}

function isAdminSubject(cert: X509Certificate): boolean {
  const lines = cert.subject.split('\n');
  return lines.includes('CN=system:admin') && lines.includes('O=system:masters');
}

function loadSaKeys(keyPath: string, pubPath: string): { privateKeyPem: string; publicKeyPem: string } | undefined {
  const privateKeyPem = readPrivateKeyPem(keyPath, 'rsa');
  const publicKeyPem = readText(pubPath);
  if (!privateKeyPem || !publicKeyPem) return undefined;
  try {
    // Compare the stored public key with the one derived from the private key: a mismatch would make every issued
    // token fail verification.
    const derived = createPublicKey(privateKeyPem).export({ type: 'spki', format: 'der' });
    const stored = createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' });
    return derived.equals(stored) ? { privateKeyPem, publicKeyPem } : undefined;
  } catch {
    return undefined;
  }
}

function generateRsaKeyPair(): Promise<{ privateKeyPem: string; publicKeyPem: string }> {
  return new Promise((resolve, reject) => {
    generateKeyPair(
      'rsa',
      {
        modulusLength: 2048,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      },
      (err, publicKeyPem, privateKeyPem) => (err ? reject(err) : resolve({ privateKeyPem, publicKeyPem })),
    );
  });
}

/** Writes through a temporary file and a rename, so a crash never leaves a half-written key or certificate. */
function writeAtomic(path: string, data: string, mode: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

type X509Module = typeof import('@peculiar/x509');
let x509Promise: Promise<X509Module> | undefined;

/**
 * `@peculiar/x509` depends on tsyringe, which refuses to load without a Reflect metadata polyfill, and
 * `reflect-metadata` is not installed. tsyringe only stores and reads back per-class metadata (x509's classes declare
 * no constructor parameters), so a WeakMap-backed subset of that API is all it needs. Installed only if absent.
 */
function installReflectMetadataShim(): void {
  type MetaReflect = typeof Reflect & {
    getMetadata?: (key: unknown, target: object) => unknown;
    getOwnMetadata?: (key: unknown, target: object) => unknown;
    defineMetadata?: (key: unknown, value: unknown, target: object) => void;
  };
  const r = Reflect as MetaReflect;
  if (typeof r.getMetadata === 'function') return;
  const store = new WeakMap<object, Map<unknown, unknown>>();
  r.defineMetadata = (key, value, target) => {
    let m = store.get(target);
    if (!m) store.set(target, (m = new Map()));
    m.set(key, value);
  };
  r.getOwnMetadata = (key, target) => store.get(target)?.get(key);
  r.getMetadata = (key, target) => {
    for (let t: object | null = target; t; t = Object.getPrototypeOf(t) as object | null) {
      const m = store.get(t);
      if (m?.has(key)) return m.get(key);
    }
    return undefined;
  };
}

/** Loads `@peculiar/x509` on first use only and points it at Node's WebCrypto. */
function loadX509(): Promise<X509Module> {
  installReflectMetadataShim();
  x509Promise ??= import('@peculiar/x509').then((m) => {
    m.cryptoProvider.set(globalThis.crypto);
    return m;
  });
  return x509Promise;
}

const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING_ALG = { name: 'ECDSA', hash: 'SHA-256' } as const;

function pemToDer(pem: string): Uint8Array<ArrayBuffer> {
  // Copied into a plain ArrayBuffer: WebCrypto's typings reject Buffer's possibly-shared backing store.
  return new Uint8Array(Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64'));
}

function derToPem(der: ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;
}

/** A positive, random 128-bit serial number in hex, as RFC 5280 asks for. */
function randomSerial(): string {
  const b = randomBytes(16);
  b[0] = (b[0] & 0x7f) | 0x01;
  return b.toString('hex');
}

async function newEcKeyPair(): Promise<{ keys: CryptoKeyPair; keyPem: string }> {
  const keys = (await crypto.subtle.generateKey(ECDSA_P256, true, ['sign', 'verify'])) as CryptoKeyPair;
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { keys, keyPem: derToPem(pkcs8, 'PRIVATE KEY') };
}

async function importEcKeyPair(keyPem: string): Promise<CryptoKeyPair> {
  const privateKey = await crypto.subtle.importKey('pkcs8', pemToDer(keyPem), ECDSA_P256, true, ['sign']);
  const spki = createPublicKey(keyPem).export({ type: 'spki', format: 'der' });
  const publicKey = await crypto.subtle.importKey('spki', spki, ECDSA_P256, true, ['verify']);
  return { privateKey, publicKey };
}

async function createCa(now: Date): Promise<KeyedCert> {
  const x509 = await loadX509();
  const { keys, keyPem } = await newEcKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [`skiff-ca@${Math.floor(now.getTime() / 1000)}`] }],
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + CA_VALIDITY_MS),
    keys,
    signingAlgorithm: SIGNING_ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const certPem = cert.toString('pem') + '\n';
  return { certPem, keyPem, cert: new X509Certificate(certPem) };
}

interface LeafSpec {
  subject: Record<string, string[]>[];
  usage: 'server' | 'client';
  sans?: SanSet;
  /** Re-use this key (PKCS#8 PEM) instead of generating one. */
  keyPem?: string;
  validityMs?: number;
}

async function createLeaf(ca: KeyedCert, now: Date, spec: LeafSpec): Promise<KeyedCert> {
  const x509 = await loadX509();
  const [caKeys, subjectKeys] = await Promise.all([
    importEcKeyPair(ca.keyPem),
    spec.keyPem ? importEcKeyPair(spec.keyPem).then((keys) => ({ keys, keyPem: spec.keyPem! })) : newEcKeyPair(),
  ]);
  const caCert = new x509.X509Certificate(ca.certPem);
  const notAfter = Math.min(
    now.getTime() + (spec.validityMs ?? LEAF_VALIDITY_MS),
    // A leaf never outlives its issuer: clients would reject the chain anyway.
    caCert.notAfter.getTime(),
  );
  const extensions: InstanceType<X509Module['Extension']>[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    // ECDSA keys only sign (no key encipherment), for either usage.
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(
      [spec.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth],
      false,
    ),
    await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
  ];
  if (spec.sans) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension([
        ...spec.sans.dns.map((value) => ({ type: 'dns' as const, value })),
        ...spec.sans.ips.map((value) => ({ type: 'ip' as const, value })),
      ]),
    );
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: spec.subject,
    issuer: caCert.subjectName,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(notAfter),
    publicKey: subjectKeys.keys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: SIGNING_ALG,
    extensions,
  });
  const certPem = cert.toString('pem') + '\n';
  return { certPem, keyPem: subjectKeys.keyPem, cert: new X509Certificate(certPem) };
}

/**
 * A throwaway self-signed certificate (ECDSA P-256) for a node agent's streaming server when no cluster-issued one
 * is given — upstream's kubelet self-signs its serving certificate by default too.
 */
export async function selfSignedCertificate(): Promise<{ certPem: string; keyPem: string }> {
  const c = await createCa(new Date());
  return { certPem: c.certPem, keyPem: c.keyPem };
}
