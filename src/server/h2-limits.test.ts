/**
 * HTTP/2 resource bounds of the apiserver listener (createApiHttpServer): idle sessions end, sessions with open
 * streams (watches) do not, silent or slowloris clients are dropped, streams per session are limited.
 * Driven with raw node:http2 sessions and raw TLS sockets speaking h2 frames.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { ensurePki, type Pki } from '../apiserver/auth/pki.js';
import { closeAllConnections, createApiHttpServer, H2_LIMITS, type H2Limits } from './server.js';

let dir: string;
let pki: Pki;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-h2lim-'));
  pki = await ensurePki(dir, { bindAddress: '127.0.0.1' });
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** `/hold` keeps its response open until `/release` (a quiet watch); everything else answers at once. */
async function listen(limits: Partial<H2Limits>) {
  const held: ServerResponse[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/hold') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('');
      held.push(res);
      return;
    }
    if (req.url === '/release') for (const r of held.splice(0)) r.end();
    if (req.url === '/deny') {
      // As authentication does: answer at once, without reading the request body.
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end('{}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  };
  const server = createApiHttpServer({ key: pki.serverKeyPem, cert: pki.serverCertPem, ca: [pki.caCertPem] }, handler, { http2: true, ...limits });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `https://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => { server.close(() => r()); closeAllConnections(server); }),
  };
}

function get(session: http2.ClientHttp2Session, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = session.request({ ':path': path }, { endStream: true });
    let status = 0;
    s.on('response', (h) => { status = Number(h[':status']); });
    s.resume();
    s.on('end', () => resolve(status));
    s.on('error', reject);
  });
}

const closed = (session: http2.ClientHttp2Session) => new Promise<void>((r) => (session.closed || session.destroyed ? r() : session.once('close', () => r())));
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A raw TLS connection that negotiated h2, for writing frames by hand; resolves when the server ends it. */
async function rawH2(port: number): Promise<{ socket: tls.TLSSocket; ended: Promise<number> }> {
  const socket = tls.connect({ host: '127.0.0.1', port, ca: pki.caCertPem, servername: 'localhost', ALPNProtocols: ['h2'], rejectUnauthorized: false });
  await new Promise<void>((resolve, reject) => { socket.once('secureConnect', resolve); socket.once('error', reject); });
  assert.equal(socket.alpnProtocol, 'h2');
  const t0 = Date.now();
  socket.on('error', () => undefined);
  socket.resume();
  const ended = new Promise<number>((r) => socket.once('close', () => r(Date.now() - t0)));
  return { socket, ended };
}

function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId, 5);
  return Buffer.concat([h, payload]);
}
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

test('the default limits are kube-apiserver\'s, and SETTINGS advertise the stream limit', async () => {
  assert.deepEqual({ ...H2_LIMITS }, { idleTimeoutMs: 90_000, firstRequestTimeoutMs: 32_000, maxConcurrentStreams: 250 });
  const srv = await listen({});
  const session = http2.connect(srv.url, { ca: pki.caCertPem, servername: 'localhost' });
  try {
    const settings = await new Promise<http2.Settings>((r) => session.once('remoteSettings', r));
    assert.equal(settings.maxConcurrentStreams, 250);
    assert.equal(await get(session, '/x'), 200);
  } finally {
    session.destroy();
    await srv.close();
  }
});

test('more concurrent requests than the stream limit queue on the client and all complete', async () => {
  const srv = await listen({ maxConcurrentStreams: 4 });
  const session = http2.connect(srv.url, { ca: pki.caCertPem, servername: 'localhost' });
  try {
    // Before the server's SETTINGS arrive a client may assume no limit (streams beyond it are then refused,
    // which RestClient resends); after them nghttp2 holds back streams over the limit.
    await new Promise((r) => session.once('remoteSettings', r));
    const statuses = await Promise.all(Array.from({ length: 40 }, (_, i) => get(session, `/r${i}`)));
    assert.deepEqual(new Set(statuses), new Set([200]));
  } finally {
    session.destroy();
    await srv.close();
  }
});

test('an idle session is closed with GOAWAY after the idle timeout; a session with an open (quiet) watch is not', async () => {
  const srv = await listen({ idleTimeoutMs: 200 });
  const idle = http2.connect(srv.url, { ca: pki.caCertPem, servername: 'localhost' });
  const watching = http2.connect(srv.url, { ca: pki.caCertPem, servername: 'localhost' });
  try {
    let goaway = false;
    idle.on('goaway', () => { goaway = true; });
    idle.on('error', () => undefined);
    assert.equal(await get(idle, '/x'), 200);
    // A quiet long-running stream: headers only, no data for many idle periods.
    const hold = watching.request({ ':path': '/hold' }, { endStream: true });
    hold.on('error', () => undefined);
    await new Promise((r) => hold.once('response', r));
    await Promise.race([closed(idle), delay(10_000)]);
    assert.ok(idle.closed || idle.destroyed, 'the idle session was not closed');
    assert.ok(goaway, 'the idle session ended without GOAWAY');
    await delay(800); // 4 idle periods
    assert.ok(!watching.closed && !watching.destroyed, 'a session with an open stream was closed');
    assert.ok(!hold.closed);
    // Once the watch ends the session is idle like any other.
    assert.equal(await get(watching, '/release'), 200);
    await Promise.race([closed(watching), delay(10_000)]);
    assert.ok(watching.closed || watching.destroyed, 'the session was not closed after its last stream ended');
  } finally {
    idle.destroy();
    watching.destroy();
    await srv.close();
  }
});

test('a client that negotiates h2 and sends nothing is dropped after the first-request timeout', async () => {
  const srv = await listen({ firstRequestTimeoutMs: 200 });
  try {
    const { ended } = await rawH2(srv.port);
    const ms = await Promise.race([ended, delay(10_000).then(() => -1)]);
    assert.ok(ms >= 0, 'the silent connection was kept');
  } finally {
    await srv.close();
  }
});

test('a client that dribbles a HEADERS block (no END_HEADERS, no CONTINUATION) is dropped', async () => {
  const srv = await listen({ firstRequestTimeoutMs: 200 });
  try {
    const { socket, ended } = await rawH2(srv.port);
    // Preface + empty SETTINGS, then HEADERS (END_STREAM, but not END_HEADERS) carrying `:method: GET` only.
    socket.write(Buffer.concat([PREFACE, frame(4, 0, 0), frame(1, 0x1, 1, Buffer.from([0x82]))]));
    const ms = await Promise.race([ended, delay(10_000).then(() => -1)]);
    assert.ok(ms >= 0, 'the slowloris connection was kept');
  } finally {
    await srv.close();
  }
});

test('a request answered before its body is read does not keep a stream (or the session) open', async () => {
  const srv = await listen({ idleTimeoutMs: 200 });
  const session = http2.connect(srv.url, { ca: pki.caCertPem, servername: 'localhost' });
  session.on('error', () => undefined);
  try {
    // A body that never ends (a slow uploader), on a request the server denies at once.
    const s = session.request({ ':method': 'POST', ':path': '/deny', 'content-type': 'application/json' }, { endStream: false });
    s.on('error', () => undefined);
    s.write('{"kind":');
    const status = await new Promise<number>((r) => s.once('response', (h) => r(Number(h[':status']))));
    assert.equal(status, 401);
    s.resume();
    await Promise.race([new Promise((r) => s.once('close', r)), delay(10_000)]);
    assert.ok(s.closed || s.destroyed, 'the stream stayed open');
    await Promise.race([closed(session), delay(10_000)]);
    assert.ok(session.closed || session.destroyed, 'the session stayed open');
  } finally {
    session.destroy();
    await srv.close();
  }
});

test('HTTP/1.1 on the same listener is unaffected by the HTTP/2 session limits', async () => {
  const srv = await listen({ idleTimeoutMs: 100, firstRequestTimeoutMs: 100 });
  try {
    const status = await new Promise<number>((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port: srv.port, path: '/x', ca: pki.caCertPem, servername: 'localhost', agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 200);
  } finally {
    await srv.close();
  }
});
