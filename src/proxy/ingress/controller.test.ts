import assert from 'node:assert/strict';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import type { Ingress, IngressRule } from 'kubernetes-types/networking/v1.js';
import type { KObject } from '../../api/errors.js';
import { selfSignedCertificate } from '../../apiserver/auth/pki.js';
import { DynamicClient } from '../../client/dynamic.js';
import { recordingLogger } from '../../client/log.js';
import { FakeApiServer } from '../../client/testing/fake-apiserver.js';
import { startIngressController, type IngressController } from './index.js';

// ---- fixtures ---------------------------------------------------------------------------------------------------

/** A backend answering `{ backend, url, headers }` as JSON, and echoing bytes after an Upgrade. */
interface Backend {
  name: string;
  port: number;
  hits: number;
  close(): Promise<void>;
}

async function startBackend(name: string): Promise<Backend> {
  const sockets = new Set<Socket>();
  const b = { name, port: 0, hits: 0 } as Backend;
  const server = http.createServer((req, res) => {
    b.hits++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.end(JSON.stringify({ backend: name, url: req.url, method: req.method, headers: req.headers, body: Buffer.concat(chunks).toString() }));
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${req.headers.upgrade}\r\nConnection: Upgrade\r\nX-Backend: ${name}\r\n\r\n`);
    socket.pipe(socket);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  b.port = (server.address() as AddressInfo).port;
  b.close = () => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  };
  return b;
}

/** A loopback port nothing listens on (bound, then released). */
async function deadPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A self-signed certificate whose CN and DNS SAN are `host`. */
async function hostCert(host: string): Promise<{ certPem: string; keyPem: string }> {
  await selfSignedCertificate(); // installs the reflect-metadata shim @peculiar/x509 needs
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(globalThis.crypto);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await crypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: `CN=${host}`,
    notBefore: new Date(Date.now() - 3600_000),
    notAfter: new Date(Date.now() + 86400_000),
    keys,
    signingAlgorithm: alg,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: host }])],
  });
  const pkcs8 = Buffer.from(await crypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  return { certPem: cert.toString('pem'), keyPem: `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n` };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

function service(name: string, ns = 'default'): KObject {
  return { metadata: { name, namespace: ns }, spec: { ports: [{ name: 'http', port: 80, targetPort: 'web' }] } } as KObject;
}

function slice(name: string, service: string, port: number, ready = true, ns = 'default'): KObject {
  return {
    metadata: { name, namespace: ns, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port, protocol: 'TCP' }],
    endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready } }],
  } as KObject;
}

function rule(host: string | undefined, ...paths: Array<[string, 'Exact' | 'Prefix', string]>): IngressRule {
  return { host, http: { paths: paths.map(([path, pathType, s]) => ({ path, pathType, backend: { service: { name: s, port: { number: 80 } } } })) } };
}

function ingress(name: string, spec: Ingress['spec'], ns = 'default'): KObject {
  return { metadata: { name, namespace: ns }, spec } as KObject;
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: { backend?: string; url?: string; method?: string; headers?: Record<string, string>; body?: string };
}

function request(port: number, host: string, path: string, opts: { method?: string; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: { host }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json = {};
        try {
          json = JSON.parse(text);
        } catch {
          /* not JSON: an error page */
        }
        resolve({ status: res.statusCode!, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Retries `fn` until it stops throwing (informer updates arrive asynchronously). */
async function eventually(fn: () => Promise<void> | void, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

// ---- the suite --------------------------------------------------------------------------------------------------

describe('ingress controller', () => {
  let srv: FakeApiServer;
  let client: DynamicClient;
  let ctl: IngressController;
  const log = recordingLogger();
  const backends: Record<string, Backend> = {};
  const certs: Record<string, { certPem: string; keyPem: string }> = {};
  const put = (resource: string, obj: KObject) =>
    srv.put(resource === 'ingresses' || resource === 'ingressclasses' ? 'networking.k8s.io/v1' : resource === 'endpointslices' ? 'discovery.k8s.io/v1' : 'v1', resource, obj);

  before(async () => {
    srv = await FakeApiServer.start();
    client = new DynamicClient({ server: srv.url }, { rateLimit: false });
    for (const n of ['alpha', 'beta', 'gamma', 'fallback', 'retry']) backends[n] = await startBackend(n);
    for (const h of ['a.test', '*.wild.test']) certs[h] = await hostCert(h);
    put('ingressclasses', {
      metadata: { name: 'skiff', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } },
      spec: { controller: 'skiff.dev/ingress' },
    } as KObject);
    put('ingressclasses', { metadata: { name: 'nginx' }, spec: { controller: 'k8s.io/ingress-nginx' } } as KObject);
    for (const n of ['alpha', 'beta', 'gamma', 'fallback']) {
      put('services', service(n));
      put('endpointslices', slice(`${n}-1`, n, backends[n]!.port));
    }
    // `retry` has a dead endpoint beside a live one; `empty` has none ready; `ghost` has no Service at all.
    put('services', service('retry'));
    put('endpointslices', slice('retry-dead', 'retry', await deadPort()));
    put('endpointslices', slice('retry-live', 'retry', backends.retry!.port));
    put('services', service('empty'));
    put('endpointslices', slice('empty-1', 'empty', backends.alpha!.port, false));
    for (const [h, c] of Object.entries(certs)) {
      put('secrets', {
        metadata: { name: `tls-${h.replace('*.', 'star-')}`, namespace: 'default' },
        type: 'kubernetes.io/tls',
        data: { 'tls.crt': b64(c.certPem), 'tls.key': b64(c.keyPem) },
      } as KObject);
    }
    put('secrets', { metadata: { name: 'broken', namespace: 'default' }, type: 'kubernetes.io/tls', data: { 'tls.crt': b64('junk'), 'tls.key': b64('junk') } } as KObject);
    put('ingresses', ingress('web', {
      ingressClassName: 'skiff',
      tls: [
        { hosts: ['a.test'], secretName: 'tls-a.test' },
        { hosts: ['*.wild.test'], secretName: 'tls-star-wild.test' },
        { hosts: ['broken.test'], secretName: 'broken' },
      ],
      rules: [
        rule('a.test', ['/', 'Prefix', 'alpha'], ['/beta', 'Prefix', 'beta'], ['/exact', 'Exact', 'gamma'], ['/exact', 'Prefix', 'beta']),
        rule('b.test', ['/', 'Prefix', 'beta'], ['/alpha', 'Prefix', 'alpha']),
        rule('*.wild.test', ['/', 'Prefix', 'gamma']),
        rule('broken.test', ['/', 'Prefix', 'alpha']),
      ],
    }));
    // No class: served because `skiff` is the default class; it contributes the default backend and odd backends.
    put('ingresses', ingress('extras', {
      defaultBackend: { service: { name: 'fallback', port: { name: 'http' } } },
      rules: [rule('c.test', ['/retry', 'Prefix', 'retry'], ['/empty', 'Prefix', 'empty'], ['/ghost', 'Prefix', 'ghost'])],
    }));
    put('ingresses', ingress('not-ours', { ingressClassName: 'nginx', rules: [rule('nginx.test', ['/', 'Prefix', 'alpha'])] }));
    ctl = await startIngressController({
      client, nodeName: 'node-1', host: '127.0.0.1', httpPort: 0, httpsPort: 0, writeStatus: true, statusAddresses: ['192.0.2.10'], log,
    });
  });

  after(async () => {
    await ctl?.stop();
    client?.close();
    await srv?.close();
    for (const b of Object.values(backends)) await b.close();
  });

  test('two hosts and two paths route to two services', async () => {
    const cases: Array<[host: string, path: string, backend: string]> = [
      ['a.test', '/', 'alpha'],
      ['a.test', '/beta', 'beta'],
      ['a.test', '/beta/x?y=1', 'beta'],
      ['a.test', '/betamax', 'alpha'],
      ['b.test', '/', 'beta'],
      ['b.test', '/alpha/1', 'alpha'],
      ['B.TEST:8080', '/alpha', 'alpha'],
      ['x.wild.test', '/', 'gamma'],
    ];
    for (const [host, path, want] of cases) {
      const r = await request(ctl.httpPort, host, path);
      assert.equal(r.status, 200, `${host}${path}: ${r.text}`);
      assert.equal(r.json.backend, want, `${host}${path}`);
      assert.equal(r.json.url, path, 'the path is passed through unchanged');
    }
  });

  test('Exact beats Prefix for the same path; Prefix still covers deeper paths', async () => {
    assert.equal((await request(ctl.httpPort, 'a.test', '/exact')).json.backend, 'gamma');
    assert.equal((await request(ctl.httpPort, 'a.test', '/exact/')).json.backend, 'beta');
    assert.equal((await request(ctl.httpPort, 'a.test', '/exact/more')).json.backend, 'beta');
  });

  test('unmatched requests go to the default backend; Ingresses of other classes are ignored', async () => {
    assert.equal((await request(ctl.httpPort, 'unknown.test', '/')).json.backend, 'fallback');
    assert.equal((await request(ctl.httpPort, 'c.test', '/nothing-here')).json.backend, 'fallback');
    assert.equal((await request(ctl.httpPort, 'nginx.test', '/')).json.backend, 'fallback');
  });

  test('forwarded headers, request bodies and multi-value response headers', async () => {
    const r = await request(ctl.httpPort, 'a.test', '/beta/post', { method: 'POST', body: 'hello body' });
    assert.equal(r.json.method, 'POST');
    assert.equal(r.json.body, 'hello body');
    const h = r.json.headers!;
    assert.equal(h.host, 'a.test');
    assert.equal(h['x-forwarded-host'], 'a.test');
    assert.equal(h['x-forwarded-proto'], 'http');
    assert.equal(h['x-forwarded-port'], String(ctl.httpPort));
    assert.equal(h['x-real-ip'], '127.0.0.1');
    assert.equal(h['x-forwarded-for'], '127.0.0.1');
    assert.deepEqual(r.headers['set-cookie'], ['a=1', 'b=2']);
  });

  test('a dead endpoint is retried on the next one; no ready endpoints is 503; a missing Service is 503', async () => {
    const before = backends.retry!.hits;
    for (let i = 0; i < 4; i++) {
      const r = await request(ctl.httpPort, 'c.test', '/retry');
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.backend, 'retry');
    }
    assert.equal(backends.retry!.hits - before, 4);
    assert.ok(log.records.some((l) => /trying the next one/.test(l.msg ?? '')), 'the dead endpoint was tried');
    const empty = await request(ctl.httpPort, 'c.test', '/empty');
    assert.equal(empty.status, 503);
    assert.match(empty.text, /^503 Service Unavailable/);
    assert.equal((await request(ctl.httpPort, 'c.test', '/ghost')).status, 503);
    assert.ok(log.records.some((l) => l.level === 'warn' && /ghost not found/.test(l.msg ?? '')));
    assert.ok(log.records.some((l) => l.level === 'warn' && /no ready endpoints/.test(l.msg ?? '')));
  });

  test('only dead endpoints end in 502 after the retries', async () => {
    put('services', service('dead'));
    put('endpointslices', slice('dead-1', 'dead', await deadPort()));
    put('endpointslices', slice('dead-2', 'dead', await deadPort()));
    put('ingresses', ingress('dead', { rules: [rule('dead.test', ['/', 'Prefix', 'dead'])] }));
    await eventually(async () => assert.equal((await request(ctl.httpPort, 'dead.test', '/')).status, 502));
  });

  test('TLS: SNI picks the certificate of each host (wildcards too); unknown names get the default certificate', async () => {
    const peer = (servername: string) =>
      new Promise<{ cn: string; san: string | undefined }>((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port: ctl.httpsPort, servername, rejectUnauthorized: false }, () => {
          const c = s.getPeerX509Certificate()!;
          resolve({ cn: /CN=([^\n,]+)/.exec(c.subject)?.[1] ?? '', san: c.subjectAltName });
          s.destroy();
        });
        s.on('error', reject);
      });
    assert.deepEqual(await peer('a.test'), { cn: 'a.test', san: 'DNS:a.test' });
    assert.deepEqual(await peer('x.wild.test'), { cn: '*.wild.test', san: 'DNS:*.wild.test' });
    assert.match((await peer('unknown.test')).cn, /^skiff-ca@/);
    assert.match((await peer('broken.test')).cn, /^skiff-ca@/);
    assert.ok(log.records.some((l) => /unusable key pair/.test(l.msg ?? '')));

    // A verified HTTPS request end to end: the host certificate is trusted as its own CA.
    const body = await new Promise<string>((resolve, reject) => {
      const req = https.request(
        { host: '127.0.0.1', port: ctl.httpsPort, servername: 'a.test', path: '/beta', headers: { host: 'a.test' }, ca: certs['a.test']!.certPem, agent: false },
        (res) => {
          let t = '';
          res.on('data', (c) => (t += c));
          res.on('end', () => resolve(t));
        },
      );
      req.on('error', reject);
      req.end();
    });
    const j = JSON.parse(body);
    assert.equal(j.backend, 'beta');
    assert.equal(j.headers['x-forwarded-proto'], 'https');
  });

  test('status.loadBalancer is written once through the status subresource', async () => {
    await eventually(() => {
      const o = srv.read('networking.k8s.io/v1', 'ingresses', 'default', 'web') as Ingress | undefined;
      assert.deepEqual(o?.status?.loadBalancer?.ingress, [{ ip: '192.0.2.10' }]);
    });
    // `extras` has no class: it is served (and given a status) through the default class.
    await eventually(() => assert.deepEqual((srv.read('networking.k8s.io/v1', 'ingresses', 'default', 'extras') as Ingress).status?.loadBalancer?.ingress, [{ ip: '192.0.2.10' }]));
    const notOurs = srv.read('networking.k8s.io/v1', 'ingresses', 'default', 'not-ours') as Ingress;
    assert.equal(notOurs.status?.loadBalancer?.ingress, undefined);
    const patches = () => srv.requestsFor('patch/status').filter((r) => r.path.endsWith('/ingresses/web/status')).length;
    assert.equal(patches(), 1);
  });

  test('an Ingress update changes routing without a restart', async () => {
    const cur = srv.read('networking.k8s.io/v1', 'ingresses', 'default', 'web') as Ingress;
    cur.spec!.rules![1] = rule('b.test', ['/', 'Prefix', 'gamma']);
    put('ingresses', cur as KObject);
    await eventually(async () => assert.equal((await request(ctl.httpPort, 'b.test', '/alpha/1')).json.backend, 'gamma'));
    // New endpoints are picked up too: beta gains nothing, gamma's slice moves to beta's server.
    put('endpointslices', slice('gamma-1', 'gamma', backends.beta!.port));
    await eventually(async () => assert.equal((await request(ctl.httpPort, 'b.test', '/')).json.backend, 'beta'));
    const patches = srv.requestsFor('patch/status').filter((r) => r.path.endsWith('/ingresses/web/status')).length;
    assert.equal(patches, 1, 'an unchanged status is not patched again');
  });

  test('a TLS Secret that appears later is served on the next handshake', async () => {
    const cn = () =>
      new Promise<string>((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port: ctl.httpsPort, servername: 'late.test', rejectUnauthorized: false }, () => {
          resolve(/CN=([^\n,]+)/.exec(s.getPeerX509Certificate()!.subject)?.[1] ?? '');
          s.destroy();
        });
        s.on('error', reject);
      });
    put('ingresses', ingress('late', { tls: [{ hosts: ['late.test'], secretName: 'late' }], rules: [rule('late.test', ['/', 'Prefix', 'alpha'])] }));
    await eventually(async () => assert.equal((await request(ctl.httpPort, 'late.test', '/')).json.backend, 'alpha'));
    assert.match(await cn(), /^skiff-ca@/);
    assert.ok(log.records.some((l) => /secret default\/late not found/.test(l.msg ?? '')));
    const c = await hostCert('late.test');
    put('secrets', { metadata: { name: 'late', namespace: 'default' }, type: 'kubernetes.io/tls', data: { 'tls.crt': b64(c.certPem), 'tls.key': b64(c.keyPem) } } as KObject);
    await eventually(async () => assert.equal(await cn(), 'late.test'));
  });

  test('an Ingress moved to another class stops being served and loses the status this controller wrote', async () => {
    put('services', service('moving'));
    put('endpointslices', slice('moving-1', 'moving', backends.gamma!.port));
    put('ingresses', ingress('moving', { ingressClassName: 'skiff', rules: [rule('moving.test', ['/', 'Prefix', 'moving'])] }));
    const read = () => srv.read('networking.k8s.io/v1', 'ingresses', 'default', 'moving') as Ingress;
    await eventually(() => assert.deepEqual(read().status?.loadBalancer?.ingress, [{ ip: '192.0.2.10' }]));
    assert.equal((await request(ctl.httpPort, 'moving.test', '/')).json.backend, 'gamma');
    const cur = read();
    cur.spec!.ingressClassName = 'nginx';
    put('ingresses', cur as KObject);
    await eventually(async () => assert.equal((await request(ctl.httpPort, 'moving.test', '/')).json.backend, 'fallback'));
    await eventually(() => assert.equal(read().status?.loadBalancer?.ingress, undefined));
  });

  test('responses stream before the backend finishes, and a client abort cancels the backend request', async () => {
    let backendClosed!: () => void;
    const closed = new Promise<void>((r) => (backendClosed = r));
    const streamer = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first chunk');
      res.on('close', () => backendClosed());
    });
    await new Promise<void>((r) => streamer.listen(0, '127.0.0.1', r));
    try {
      put('services', service('streamer'));
      put('endpointslices', slice('streamer-1', 'streamer', (streamer.address() as AddressInfo).port));
      put('ingresses', ingress('streamer', { rules: [rule('stream.test', ['/', 'Prefix', 'streamer'])] }));
      await eventually(async () => {
        const first = await new Promise<string>((resolve, reject) => {
          const req = http.get({ host: '127.0.0.1', port: ctl.httpPort, path: '/', headers: { host: 'stream.test' }, agent: false }, (res) => {
            if (res.statusCode !== 200) return reject(new Error(`status ${res.statusCode}`));
            res.once('data', (d: Buffer) => {
              resolve(d.toString());
              req.destroy(); // the client goes away mid-response
            });
          });
          req.on('error', () => undefined);
        });
        assert.equal(first, 'first chunk');
      });
      await closed;
      assert.equal((await request(ctl.httpPort, 'a.test', '/')).json.backend, 'alpha', 'the controller keeps serving');
    } finally {
      streamer.closeAllConnections();
      await new Promise<void>((r) => streamer.close(() => r()));
    }
  });

  test('WebSocket upgrades are passed through', async () => {
    const { res, socket } = await new Promise<{ res: IncomingMessage; socket: Socket }>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1', port: ctl.httpPort, path: '/ws', agent: false,
        headers: { host: 'a.test', connection: 'Upgrade', upgrade: 'websocket' },
      });
      req.on('upgrade', (r, s) => resolve({ res: r, socket: s as Socket }));
      req.on('response', (r) => reject(new Error(`no upgrade: ${r.statusCode}`)));
      req.on('error', reject);
      req.end();
    });
    assert.equal(res.statusCode, 101);
    assert.equal(res.headers['x-backend'], 'alpha');
    const echoed = await new Promise<string>((resolve) => {
      socket.once('data', (d: Buffer) => resolve(d.toString()));
      socket.write('ping');
    });
    assert.equal(echoed, 'ping');
    socket.destroy();
  });
});

describe('ingress controller lifecycle', () => {
  test('status defaults to the node InternalIP; a busy port fails the start; stop releases the ports', async () => {
    const srv = await FakeApiServer.start();
    const client = new DynamicClient({ server: srv.url }, { rateLimit: false });
    const backend = await startBackend('solo');
    const log = recordingLogger();
    let ctl: IngressController | undefined;
    try {
      srv.put('v1', 'nodes', {
        metadata: { name: 'node-1' },
        status: { addresses: [{ type: 'Hostname', address: 'node-1' }, { type: 'InternalIP', address: '10.0.0.5' }] },
      } as KObject);
      srv.put('v1', 'services', service('solo'));
      srv.put('discovery.k8s.io/v1', 'endpointslices', slice('solo-1', 'solo', backend.port));
      srv.put('networking.k8s.io/v1', 'ingresses', ingress('solo', { ingressClassName: 'skiff', defaultBackend: { service: { name: 'solo', port: { number: 80 } } } }));
      ctl = await startIngressController({ client, nodeName: 'node-1', host: '127.0.0.1', httpPort: 0, httpsPort: 0, writeStatus: true, log });
      assert.equal((await request(ctl.httpPort, 'any.test', '/x')).json.backend, 'solo');
      await eventually(() =>
        assert.deepEqual((srv.read('networking.k8s.io/v1', 'ingresses', 'default', 'solo') as Ingress).status?.loadBalancer?.ingress, [{ ip: '10.0.0.5' }]),
      );
      await assert.rejects(
        startIngressController({ client, nodeName: 'node-1', host: '127.0.0.1', httpPort: ctl.httpPort, httpsPort: 0, log }),
        /EADDRINUSE/,
      );
      const port = ctl.httpPort;
      await ctl.stop();
      ctl = undefined;
      await assert.rejects(request(port, 'any.test', '/'), /ECONNREFUSED/);
    } finally {
      await ctl?.stop();
      client.close();
      await srv.close();
      await backend.close();
    }
  });
});
