import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server as TlsServer } from 'node:tls';
import { after, before, test } from 'node:test';
import { ensurePki, type Pki } from '../apiserver/auth/pki.js';
import { closeAllConnections, createApiHttpServer, type H2Limits } from '../server/server.js';
import { DynamicClient } from './dynamic.js';
import { RequestTimeoutError, RestClient } from './rest.js';
import type { WatchEvent } from './watch.js';

let pki: Pki;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-h2c-'));
  pki = await ensurePki(dir, { bindAddress: '127.0.0.1' });
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Seen { method: string; url: string; httpVersion: string; user?: string; auth?: string; body: string }

/** A TLS server speaking h2 (or only HTTP/1.1) whose handler the test supplies; records each request. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse, seen: Seen) => void, http2On = true, limits: Partial<H2Limits> = {}) {
  const seen: Seen[] = [];
  const sessions: http2.ServerHttp2Session[] = [];
  const server: TlsServer = createApiHttpServer({ key: pki.serverKeyPem, cert: pki.serverCertPem, ca: [pki.caCertPem] }, (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => { body += d; });
    req.on('end', () => {
      const sock = req.socket as unknown as { getPeerCertificate?: () => { subject?: { CN?: string } } };
      const s: Seen = { method: req.method!, url: req.url!, httpVersion: req.httpVersion, user: sock.getPeerCertificate?.()?.subject?.CN, auth: req.headers.authorization, body };
      seen.push(s);
      handler(req, res, s);
    });
  }, { http2: http2On, ...limits });
  server.on('session', (s: http2.ServerHttp2Session) => sessions.push(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url, seen, sessions,
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); closeAllConnections(server); }),
  };
}

const json = (res: ServerResponse, code: number, obj: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(code, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(obj));
};

const client = (url: string, opts: ConstructorParameters<typeof RestClient>[1] = {}) =>
  new RestClient({ server: url, ca: pki.caCertPem, cert: pki.adminCertPem, key: pki.adminKeyPem }, { rateLimit: false, ...opts });

test('requests go over one HTTP/2 session with the client certificate, token and bodies', async () => {
  const s = await serve((req, res, seen) => json(res, req.method === 'POST' ? 201 : 200, { kind: 'ConfigMap', echo: seen.body || null }));
  const rc = client(s.url);
  try {
    const got = await rc.request<{ echo: string | null }>({ method: 'GET', path: '/api/v1/namespaces/default/configmaps/a', query: { x: 'y z' } });
    assert.equal(got.echo, null);
    const made = await Promise.all([1, 2, 3].map((i) => rc.request<{ echo: string }>({ method: 'POST', path: '/api/v1/namespaces/default/configmaps', body: { i } })));
    assert.deepEqual(made.map((m) => JSON.parse(m.echo).i), [1, 2, 3]);
    assert.equal(rc.protocol, 'h2');
    assert.equal(s.sessions.length, 1);
    assert.ok(s.seen.every((r) => r.httpVersion === '2.0' && !!r.user), JSON.stringify(s.seen));
    assert.equal(s.seen[0]!.url, '/api/v1/namespaces/default/configmaps/a?x=y+z');
    // discardResult: the answer is not decoded (nor turned into a string) over HTTP/2 either.
    assert.equal(await rc.request({ method: 'POST', path: '/api/v1/namespaces/default/configmaps', body: { i: 4 }, discardResult: true }), undefined);
  } finally {
    rc.close();
    await s.close();
  }
  const t = await serve((_req, res) => json(res, 200, {}));
  const withToken = new RestClient({ server: t.url, ca: pki.caCertPem, token: 'tok' }, { rateLimit: false });
  try {
    await withToken.request({ method: 'GET', path: '/x' });
    assert.equal(t.seen[0]!.auth, 'Bearer tok');
    assert.equal(t.seen[0]!.httpVersion, '2.0');
  } finally {
    withToken.close();
    await t.close();
  }
});

test('error answers, Retry-After, deadline, abort and stream resets map as on HTTP/1.1', async () => {
  let calls = 0;
  const s = await serve((req, res) => {
    if (req.url === '/missing') return json(res, 404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: 'x not found' });
    if (req.url === '/busy') return ++calls === 1 ? json(res, 429, { kind: 'Status', code: 429, reason: 'TooManyRequests' }, { 'retry-after': '0' }) : json(res, 200, { ok: true });
    if (req.url === '/reset') return (res as unknown as http2.Http2ServerResponse).stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    if (req.url === '/stall') return; // never answers
    json(res, 200, {});
  });
  const rc = client(s.url);
  try {
    await assert.rejects(rc.request({ method: 'GET', path: '/missing' }), { code: 404, reason: 'NotFound', message: 'x not found' });
    assert.deepEqual(await rc.request({ method: 'GET', path: '/busy' }), { ok: true });
    await assert.rejects(rc.request({ method: 'GET', path: '/reset' }), { code: 'ECONNRESET' });
    await assert.rejects(rc.request({ method: 'GET', path: '/stall', timeoutMs: 100 }), RequestTimeoutError);
    const ac = new AbortController();
    const p = rc.request({ method: 'GET', path: '/stall', signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await assert.rejects(p, { name: 'AbortError' });
    await assert.rejects(rc.stream({ method: 'GET', path: '/missing' }), { code: 404 });
    // The session survived all of it.
    assert.deepEqual(await rc.request({ method: 'GET', path: '/fine' }), {});
    assert.equal(s.sessions.length, 1);
  } finally {
    rc.close();
    await s.close();
  }
});

test('a watch over HTTP/2 decodes frames split across DATA frames; close() ends it; the client stays usable', async () => {
  const s = await serve((req, res) => {
    if (!req.url!.includes('watch=true')) return json(res, 200, { kind: 'ConfigMapList', items: [] });
    res.writeHead(200, { 'content-type': 'application/json' });
    const line = JSON.stringify({ type: 'ADDED', object: { kind: 'ConfigMap', metadata: { name: 'ü-1' } } }) + '\n';
    const buf = Buffer.from(line + line.replace('ü-1', 'ü-2'));
    const cut = buf.indexOf(0xc3) + 1; // inside the two-byte ü
    res.write(buf.subarray(0, cut));
    setTimeout(() => res.write(buf.subarray(cut)), 20);
  });
  const dc = new DynamicClient({ server: s.url, ca: pki.caCertPem, cert: pki.adminCertPem, key: pki.adminKeyPem }, { rateLimit: false });
  try {
    const events: WatchEvent<{ metadata: { name: string } }>[] = [];
    let closed: ((e?: unknown) => void) | undefined;
    const done = new Promise<unknown>((resolve) => { closed = resolve; });
    const two = new Promise<void>((resolve) => {
      dc.resource<{ metadata: { name: string } }>('v1', 'ConfigMap').watch('default', {}, (ev) => {
        events.push(ev);
        if (events.length === 2) resolve();
      }, (err) => closed!(err ?? 'clean'));
    });
    await two;
    assert.deepEqual(events.map((e) => (e.object as { metadata: { name: string } }).metadata.name), ['ü-1', 'ü-2']);
    dc.close();
    assert.equal(await done, 'clean');
    // Usable after close: a new session.
    await dc.resource('v1', 'ConfigMap').list('default');
    assert.equal(s.sessions.length, 2);
  } finally {
    dc.close();
    await s.close();
  }
});

test('after the server sends GOAWAY (or drops the session) the next requests open a new session', async () => {
  const s = await serve((_req, res) => json(res, 200, { n: 1 }));
  const rc = client(s.url);
  try {
    await rc.request({ method: 'GET', path: '/a' });
    assert.equal(s.sessions.length, 1);
    s.sessions[0]!.close(); // graceful: GOAWAY
    await new Promise((r) => setTimeout(r, 50));
    await Promise.all([rc.request({ method: 'GET', path: '/b' }), rc.request({ method: 'GET', path: '/c' })]);
    assert.equal(s.sessions.length, 2);
    s.sessions[1]!.destroy(); // abrupt
    await new Promise((r) => setTimeout(r, 50));
    await rc.request({ method: 'GET', path: '/d' });
    assert.equal(s.sessions.length, 3);
    // A GOAWAY that races a request: the refused stream is sent again on a new session.
    s.sessions[2]!.goaway(http2.constants.NGHTTP2_NO_ERROR, 0);
    await rc.request({ method: 'GET', path: '/e' });
    assert.equal(s.seen.at(-1)!.url, '/e');
  } finally {
    rc.close();
    await s.close();
  }
});

test('a burst over the server\'s stream limit on a new session is queued by the client, not refused', async () => {
  const s = await serve((_req, res) => setTimeout(() => json(res, 200, { ok: true }), 5), true, { maxConcurrentStreams: 3 });
  const rc = client(s.url);
  try {
    const out = await Promise.all(Array.from({ length: 60 }, (_, i) => rc.request<{ ok: boolean }>({ method: 'GET', path: `/q${i}` })));
    assert.equal(out.filter((o) => o.ok).length, 60);
    assert.equal(s.seen.length, 60);
    assert.equal(s.sessions.length, 1);
  } finally {
    rc.close();
    await s.close();
  }
});

test('maxSockets bounds ordinary requests in flight over HTTP/2 (FIFO); timed-out or aborted waiters free nothing twice', async () => {
  let now = 0;
  let peak = 0;
  const s = await serve((_req, res) => {
    peak = Math.max(peak, ++now);
    setTimeout(() => { now--; json(res, 200, { ok: true }); }, 10);
  });
  const rc = client(s.url, { maxSockets: 3 });
  try {
    // A watch does not take a slot.
    const w = await rc.stream({ method: 'GET', path: '/watch' }).catch(() => undefined);
    w?.abort();
    const order: number[] = [];
    const ac = new AbortController();
    const reqs = Array.from({ length: 30 }, (_, i) => rc.request({ method: 'GET', path: `/q${i}`, ...(i === 10 ? { signal: ac.signal } : {}), ...(i === 11 ? { timeoutMs: 1 } : {}) })
      .then(() => { order.push(i); }, (err: Error) => { order.push(-i); return err; }));
    ac.abort();
    await Promise.all(reqs);
    assert.ok(peak <= 3, `peak ${peak} requests at once`);
    assert.equal(peak, 3);
    assert.ok(order.includes(-10) && order.includes(-11), JSON.stringify(order));
    assert.deepEqual(order.filter((i) => i >= 0), [...Array(30).keys()].filter((i) => i !== 10 && i !== 11));
    // All slots came back: another full round still runs three at a time.
    peak = 0;
    await Promise.all(Array.from({ length: 9 }, (_, i) => rc.request({ method: 'GET', path: `/r${i}` })));
    assert.equal(peak, 3);
  } finally {
    rc.close();
    await s.close();
  }
});

test('stream events run in the async context of the caller that opened the stream (AsyncLocalStorage)', async () => {
  const s = await serve((_req, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"type":"ADDED","object":{}}\n'); });
  const rc = client(s.url);
  const als = new AsyncLocalStorage<string>();
  try {
    await rc.request({ method: 'GET', path: '/warm' }); // the session exists: request() binds at once
    for (const id of ['a', 'b']) {
      const seen = await als.run(id, async () => {
        const r = await rc.stream({ method: 'GET', path: '/w' });
        return new Promise<string[]>((resolve) => {
          const out: string[] = [];
          r.body.on('data', () => out.push(`data:${als.getStore()}`));
          r.body.on('end', () => resolve([...out, `end:${als.getStore()}`]));
        });
      });
      assert.deepEqual(seen, [`data:${id}`, `end:${id}`]);
    }
  } finally {
    rc.close();
    await s.close();
  }
});

test('sessions the server closes when idle are replaced; requests around the idle deadline all succeed', async () => {
  const s = await serve((_req, res) => json(res, 200, { ok: true }), true, { idleTimeoutMs: 60 });
  const rc = client(s.url);
  try {
    await rc.request({ method: 'GET', path: '/a' });
    await new Promise((r) => setTimeout(r, 250));
    assert.ok(s.sessions[0]!.closed || s.sessions[0]!.destroyed, 'the idle session is still open');
    await rc.request({ method: 'GET', path: '/b' });
    assert.equal(s.sessions.length, 2);
    // Requests landing just before, at and after the server's idle deadline (a GOAWAY racing a request).
    for (let i = 0; i < 12; i++) {
      await new Promise((r) => setTimeout(r, 40 + (i % 4) * 10));
      await Promise.all([rc.request({ method: 'GET', path: `/c${i}` }), rc.request({ method: 'GET', path: `/d${i}` })]);
    }
    assert.equal(s.seen.length, 26);
  } finally {
    rc.close();
    await s.close();
  }
});

test('an HTTP/1.1-only server (SKIFF_HTTP2=0 there) and http2:false clients use HTTP/1.1', async () => {
  const s = await serve((_req, res) => json(res, 200, { ok: true }), false);
  const rc = client(s.url);
  try {
    assert.deepEqual(await rc.request({ method: 'GET', path: '/a' }), { ok: true });
    assert.equal(rc.protocol, 'http/1.1');
    const w = await rc.stream({ method: 'GET', path: '/w' });
    w.abort();
    assert.ok(s.seen.every((r) => r.httpVersion === '1.1'));
  } finally {
    rc.close();
    await s.close();
  }
  const h2s = await serve((_req, res) => json(res, 200, { ok: true }));
  const off = client(h2s.url, { http2: false });
  try {
    await off.request({ method: 'GET', path: '/a' });
    assert.equal(off.protocol, 'http/1.1');
    assert.equal(h2s.seen[0]!.httpVersion, '1.1');
  } finally {
    off.close();
    await h2s.close();
  }
});
