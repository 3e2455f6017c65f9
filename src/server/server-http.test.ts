import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { closeAllConnections, createApiHttpServer, startServer, type RunningServer } from './server.js';
import { http2Enabled } from '../client/h2.js';

let srv: RunningServer;
let dataDir: string;

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'skiff-h2-'));
  srv = await startServer({
    dataDir, datastore: 'memory://', httpsPort: 0, bindAddress: '127.0.0.1', logLevel: 'error',
    disableControllerManager: true, disableScheduler: true, disableAgent: true,
  });
});

after(async () => {
  await srv?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const creds = () => ({ ca: srv.pki.caCertPem, cert: srv.pki.adminCertPem, key: srv.pki.adminKeyPem });

/** One HTTP/2 request with the admin client certificate; returns status, headers and body text. */
async function h2Get(session: http2.ClientHttp2Session, path: string, method = 'GET', body?: string): Promise<{ status: number; headers: http2.IncomingHttpHeaders; text: string }> {
  const s = session.request({ ':method': method, ':path': path, ...(body ? { 'content-type': 'application/json' } : {}) }, { endStream: !body });
  if (body) s.end(body);
  return new Promise((resolve, reject) => {
    let headers: http2.IncomingHttpHeaders = {};
    let text = '';
    s.on('response', (h) => { headers = h; });
    s.setEncoding('utf8');
    s.on('data', (d: string) => { text += d; });
    s.on('end', () => resolve({ status: Number(headers[':status']), headers, text }));
    s.on('error', reject);
  });
}

function h1Get(path: string, extra: https.RequestOptions = {}): Promise<{ status: number; headers: Record<string, unknown>; text: string; alpn: string | false | null }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port: srv.port, path, ...creds(), agent: false, ...extra }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text, alpn: (res.socket as tls.TLSSocket).alpnProtocol }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('HTTP/2 and HTTP/1.1 on one port, both authenticated by client certificate', async () => {
  const session = http2.connect(srv.url, creds());
  try {
    const r = await h2Get(session, '/api/v1/namespaces/default');
    assert.equal(r.status, 200, r.text);
    assert.equal(JSON.parse(r.text).metadata.name, 'default');
    assert.equal((session.socket as tls.TLSSocket).alpnProtocol, 'h2');
    // Several requests on the same session reuse its (cached) certificate identity.
    const again = await h2Get(session, '/api/v1/namespaces/kube-system');
    assert.equal(again.status, 200);
  } finally {
    session.close();
  }
  // node:https offers no ALPN at all (as node-fetch in @kubernetes/client-node); Go's HTTP/1 clients offer http/1.1.
  const h1 = await h1Get('/api/v1/namespaces/default');
  assert.equal(h1.status, 200, h1.text);
  assert.equal(h1.alpn, false);
  const alpn11 = await h1Get('/api/v1/namespaces/default', { ALPNProtocols: ['http/1.1'] } as https.RequestOptions);
  assert.equal(alpn11.status, 200, alpn11.text);
  assert.equal(alpn11.alpn, 'http/1.1');
  // Without a client certificate: 401 on both protocols.
  const anon = http2.connect(srv.url, { ca: srv.pki.caCertPem });
  try {
    assert.equal((await h2Get(anon, '/api/v1/namespaces/default')).status, 401);
  } finally {
    anon.close();
  }
  assert.equal((await h1Get('/api/v1/namespaces/default', { cert: undefined, key: undefined })).status, 401);
});

test('watch over HTTP/2: no Transfer-Encoding, events stream; over HTTP/1.1 still chunked', async () => {
  const session = http2.connect(srv.url, creds());
  try {
    const s = session.request({ ':path': '/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=0' });
    const headers = await new Promise<http2.IncomingHttpHeaders>((resolve) => s.once('response', resolve));
    assert.equal(headers[':status'], 200);
    assert.equal(headers['transfer-encoding'], undefined);
    let text = '';
    s.setEncoding('utf8');
    const got = new Promise<void>((resolve) => s.on('data', (d: string) => { text += d; if (text.includes('"cm-h2"')) resolve(); }));
    const created = await h2Get(session, '/api/v1/namespaces/default/configmaps', 'POST', JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm-h2' } }));
    assert.equal(created.status, 201, created.text);
    await got;
    const ev = JSON.parse(text.split('\n').find((l) => l.includes('"cm-h2"'))!);
    assert.equal(ev.type, 'ADDED');
    s.close();
  } finally {
    session.close();
  }
  const h1 = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port: srv.port, path: '/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1', ...creds(), agent: false }, (res) => {
      resolve(res.headers);
      res.resume();
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(h1['transfer-encoding'], 'chunked');
});

test('HTTP/1.1 Upgrade requests still reach the upgrade pipeline (exec answers a Status on the raw socket)', async () => {
  const reply = await new Promise<string>((resolve, reject) => {
    const sock = tls.connect({ host: '127.0.0.1', port: srv.port, ...creds(), ALPNProtocols: ['http/1.1'] }, () => {
      sock.write('GET /api/v1/namespaces/default/pods/nope/exec?command=ls&stdout=true HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n');
    });
    let out = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => { out += d; });
    sock.on('end', () => resolve(out));
    sock.on('close', () => resolve(out));
    sock.on('error', reject);
  });
  assert.match(reply, /^HTTP\/1\.1 404/);
  assert.match(reply, /pods \\"nope\\" not found/);
  // Over HTTP/2 there is no upgrade: the same request is a 400, as kube-apiserver answers it.
  const session = http2.connect(srv.url, creds());
  try {
    const r = await h2Get(session, '/api/v1/namespaces/default/pods/nope/exec?command=ls');
    assert.ok(r.status === 400 || r.status === 404, `${r.status} ${r.text}`);
  } finally {
    session.close();
  }
});

test('kill switch: an HTTP/1.1-only server negotiates http/1.1 and refuses h2-only clients', async () => {
  const prev = process.env.SKIFF_HTTP2;
  process.env.SKIFF_HTTP2 = '0';
  try {
    assert.equal(http2Enabled(), false);
  } finally {
    if (prev === undefined) delete process.env.SKIFF_HTTP2;
    else process.env.SKIFF_HTTP2 = prev;
  }
  const s = createApiHttpServer({ key: srv.pki.serverKeyPem, cert: srv.pki.serverCertPem, ca: [srv.pki.caCertPem] }, (req, res) => {
    res.end(`hello ${req.httpVersion}`);
  }, { http2: false });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  try {
    const alpn = await new Promise<string | false | null>((resolve, reject) => {
      const sock = tls.connect({ host: '127.0.0.1', port, ca: srv.pki.caCertPem, servername: 'localhost', ALPNProtocols: ['h2', 'http/1.1'] }, () => {
        resolve(sock.alpnProtocol);
        sock.destroy();
      });
      sock.on('error', reject);
    });
    assert.equal(alpn, 'http/1.1');
    const h2only = http2.connect(`https://127.0.0.1:${port}`, { ca: srv.pki.caCertPem, servername: 'localhost' });
    await assert.rejects(new Promise((resolve, reject) => {
      h2only.on('error', reject);
      h2only.on('connect', resolve);
    }));
    h2only.destroy();
  } finally {
    closeAllConnections(s);
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
});

test('closing the server ends open HTTP/2 sessions and watches', async () => {
  const s = createApiHttpServer({ key: srv.pki.serverKeyPem, cert: srv.pki.serverCertPem, ca: [srv.pki.caCertPem] }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{}\n'); // a watch that never ends
  }, { http2: true });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  const session = http2.connect(`https://127.0.0.1:${port}`, { ca: srv.pki.caCertPem, servername: 'localhost' });
  session.on('error', () => undefined);
  const stream = session.request({ ':path': '/watch' });
  stream.on('error', () => undefined);
  await new Promise((resolve) => stream.once('response', resolve));
  const ended = new Promise((resolve) => stream.once('close', resolve));
  closeAllConnections(s);
  await new Promise<void>((resolve) => s.close(() => resolve()));
  await ended;
  session.destroy();
});
