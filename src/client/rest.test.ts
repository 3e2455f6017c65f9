import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ApiError } from '../api/errors.js';
import { ensurePki } from '../apiserver/auth/pki.js';
import { isAlreadyExists, isConflict, isGone, isNotFound, RequestTimeoutError, RestClient, toApiError } from './rest.js';
import { FakeApiServer } from './testing/fake-apiserver.js';
import { FakeClock } from './testing/fake-clock.js';

let srv: FakeApiServer;
before(async () => {
  srv = await FakeApiServer.start();
});
after(() => srv.close());

const cmPath = '/api/v1/namespaces/default/configmaps';

test('JSON round trip with bearer token and user agent', async () => {
  const rc = new RestClient({ server: srv.url, token: 's3cret' }, { rateLimit: false, userAgent: 'test/1' });
  const created = await rc.request<{ metadata: { name: string; resourceVersion: string } }>({
    method: 'POST', path: cmPath, body: { metadata: { name: 'a' }, data: { k: 'v' } },
  });
  assert.equal(created.metadata.name, 'a');
  const last = srv.requests.at(-1)!;
  assert.equal(last.headers.authorization, 'Bearer s3cret');
  assert.equal(last.headers['user-agent'], 'test/1');
  assert.equal(last.contentType, 'application/json');
  rc.close();
});

test('error answers become ApiError with the server Status', async () => {
  const rc = new RestClient({ server: srv.url }, { rateLimit: false });
  const cases: Array<{ name: string; run: () => Promise<unknown>; code: number; reason: string; message: RegExp; check?: (e: unknown) => boolean }> = [
    { name: 'not found', run: () => rc.request({ method: 'GET', path: `${cmPath}/missing` }), code: 404, reason: 'NotFound', message: /configmaps "missing" not found/, check: isNotFound },
    {
      name: 'already exists',
      run: () => rc.request({ method: 'POST', path: cmPath, body: { metadata: { name: 'a' } } }),
      code: 409, reason: 'AlreadyExists', message: /already exists/, check: isAlreadyExists,
    },
    {
      name: 'conflict',
      run: () => rc.request({ method: 'PUT', path: `${cmPath}/a`, body: { metadata: { name: 'a', resourceVersion: '1' } } }),
      code: 409, reason: 'Conflict', message: /has been modified/, check: isConflict,
    },
  ];
  await rc.request({ method: 'POST', path: cmPath, body: { metadata: { name: 'a' } } }).catch(() => undefined);
  for (const c of cases) {
    await assert.rejects(c.run(), (e: unknown) => {
      assert.ok(e instanceof ApiError, c.name);
      assert.equal(e.code, c.code, c.name);
      assert.equal(e.reason, c.reason, c.name);
      assert.match(e.message, c.message, c.name);
      if (c.check) assert.ok(c.check(e), `${c.name}: predicate`);
      return true;
    });
  }
  srv.fail({ verb: 'list', code: 410, reason: 'Expired', message: 'too old' });
  await assert.rejects(rc.request({ method: 'GET', path: cmPath }), (e) => isGone(e) && (e as ApiError).reason === 'Expired');
  srv.fail({ verb: 'list', code: 503, rawBody: 'upstream down' });
  await assert.rejects(rc.request({ method: 'GET', path: cmPath }), (e) => e instanceof ApiError && e.code === 503 && e.reason === 'ServiceUnavailable' && e.message === 'upstream down');
  rc.close();
});

test('toApiError keeps Status details and falls back on reason by code', () => {
  const e = toApiError(422, JSON.stringify({ kind: 'Status', code: 422, reason: 'Invalid', message: 'bad', details: { causes: [{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec' }] } }));
  assert.equal(e.details?.causes?.[0]?.field, 'spec');
  assert.equal(toApiError(418, '').reason, 'Unknown');
  assert.match(toApiError(418, '').message, /418/);
});

test('429 with Retry-After is retried, without it it is thrown', async () => {
  const rc = new RestClient({ server: srv.url }, { rateLimit: false });
  srv.fail({ verb: 'list', code: 429, reason: 'TooManyRequests', retryAfter: 0, times: 2 });
  const before = srv.requestsFor('list').length;
  const list = await rc.request<{ items: unknown[] }>({ method: 'GET', path: cmPath });
  assert.ok(Array.isArray(list.items));
  assert.equal(srv.requestsFor('list').length - before, 3);
  srv.fail({ verb: 'list', code: 429, reason: 'TooManyRequests' });
  await assert.rejects(rc.request({ method: 'GET', path: cmPath }), (e) => (e as ApiError).code === 429);
  rc.close();
});

test('requests past their deadline fail with RequestTimeoutError; a signal aborts them', async () => {
  const hung = http.createServer(() => undefined);
  await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
  const rc = new RestClient({ server: `http://127.0.0.1:${(hung.address() as AddressInfo).port}` }, { rateLimit: false, timeoutMs: 50 });
  await assert.rejects(rc.request({ method: 'GET', path: '/api/v1/pods' }), RequestTimeoutError);
  const ac = new AbortController();
  const pending = rc.request({ method: 'GET', path: '/api/v1/pods', timeoutMs: 0, signal: ac.signal });
  setTimeout(() => ac.abort(), 10);
  await assert.rejects(pending, { name: 'AbortError' });
  rc.close();
  hung.closeAllConnections();
  hung.close();
});

test('the token bucket delays requests past the burst', async () => {
  const clock = new FakeClock();
  const rc = new RestClient({ server: srv.url }, { rateLimit: { qps: 2, burst: 2 }, clock });
  await rc.request({ method: 'GET', path: cmPath });
  await rc.request({ method: 'GET', path: cmPath });
  let done = false;
  const third = rc.request({ method: 'GET', path: cmPath }).then(() => (done = true));
  await clock.waitForTimers(1);
  assert.deepEqual(clock.pendingDelays(), [500]);
  assert.equal(done, false);
  clock.advance(500);
  await third;
  rc.close();
});

test('https with a CA and client certificate from the Skiff PKI', async () => {
  const pki = await ensurePki(mkdtempSync(join(tmpdir(), 'pki-')), { bindAddress: '127.0.0.1' });
  const tls = await FakeApiServer.start({ tls: { cert: pki.serverCertPem, key: pki.serverKeyPem } });
  try {
    const rc = new RestClient({ server: tls.url, ca: pki.caCertPem, cert: pki.adminCertPem, key: pki.adminKeyPem }, { rateLimit: false });
    const list = await rc.request<{ kind: string }>({ method: 'GET', path: '/api/v1/nodes' });
    assert.equal(list.kind, 'NodeList');
    rc.close();
    const untrusted = new RestClient({ server: tls.url }, { rateLimit: false });
    await assert.rejects(untrusted.request({ method: 'GET', path: '/api/v1/nodes' }), /self-signed|unable to verify|certificate/);
    untrusted.close();
  } finally {
    await tls.close();
  }
});

test('the fast request path equals what URL parsing would send', () => {
  for (const server of ['https://127.0.0.1:6443', 'https://[::1]:6443/prefix/', 'http://localhost']) {
    const c = new RestClient({ server }, { rateLimit: false });
    const rp = (c as unknown as { requestPath(p: string, q?: Record<string, unknown>): string }).requestPath.bind(c);
    const cases: Array<[string, Record<string, string | number | boolean | undefined>?]> = [
      ['/api/v1/namespaces/bench/pods/pod-1/binding'],
      ['/api/v1/pods', { watch: 1, resourceVersion: '5', labelSelector: 'a in (b,c),d!=e', fieldSelector: 'spec.nodeName=' }],
      ['/api/v1/pods', { limit: undefined }],
      ['/api/v1/nodes/n1:10250/proxy/x y'],
      ['/apis/apps/v1/namespaces/../secrets'],
      ['/a/./b'],
      ['/api/v1/namespaces/ns/pods/p/log', { container: 'c', follow: true }],
    ];
    for (const [p, q] of cases) {
      const u = c.url(p, q);
      assert.equal(rp(p, q), u.pathname + u.search, `${server} ${p}`);
    }
    c.close();
  }
});

test('raw request headers: Host, keep-alive, Content-Length for body-less writes, none for GET/DELETE', async () => {
  const seen: Array<{ method: string; headers: http.IncomingHttpHeaders; body: string }> = [];
  const s = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      seen.push({ method: req.method!, headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end('{"ok":true}');
    });
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  const rc = new RestClient({ server: `http://127.0.0.1:${port}`, token: 't' }, { rateLimit: false });
  try {
    assert.deepEqual(await rc.request({ method: 'GET', path: '/api/v1/pods' }), { ok: true });
    await rc.request({ method: 'POST', path: '/api/v1/namespaces/a/pods/p/binding' });
    await rc.request({ method: 'DELETE', path: '/api/v1/pods/x' });
    await rc.request({ method: 'PATCH', path: '/api/v1/pods/x', body: '{"a":1}', contentType: 'application/merge-patch+json' });
    const [get, post, del, patch] = seen;
    assert.equal(get!.headers.host, `127.0.0.1:${port}`);
    assert.equal(get!.headers.connection, 'keep-alive');
    assert.equal(get!.headers.authorization, 'Bearer t');
    assert.equal(get!.headers.accept, 'application/json');
    assert.equal(get!.headers['content-length'], undefined);
    assert.equal(get!.headers['transfer-encoding'], undefined);
    assert.equal(post!.headers['content-length'], '0');
    assert.equal(post!.headers['transfer-encoding'], undefined);
    assert.equal(del!.headers['content-length'], undefined);
    assert.equal(patch!.headers['content-type'], 'application/merge-patch+json');
    assert.equal(patch!.headers['content-length'], '7');
    assert.equal(patch!.body, '{"a":1}');
  } finally {
    rc.close();
    s.closeAllConnections();
    s.close();
  }
});

test('bodies split over chunks decode; non-JSON answers come back as text; a stalled body times out', async () => {
  const big = JSON.stringify({ items: Array.from({ length: 2000 }, (_, i) => ({ name: `é-${i}` })) });
  const s = http.createServer((req, res) => {
    if (req.url === '/big') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const b = Buffer.from(big);
      // Split inside a multi-byte character too.
      const cut = b.indexOf(Buffer.from('é')) + 1;
      res.write(b.subarray(0, cut));
      setImmediate(() => res.end(b.subarray(cut)));
    } else if (req.url === '/text') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('hello');
    } else {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"partial":');
    }
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const rc = new RestClient({ server: `http://127.0.0.1:${(s.address() as AddressInfo).port}` }, { rateLimit: false, timeoutMs: 200 });
  try {
    assert.equal(JSON.stringify(await rc.request({ method: 'GET', path: '/big' })), big);
    assert.equal(await rc.request({ method: 'GET', path: '/text' }), 'hello');
    await assert.rejects(rc.request({ method: 'GET', path: '/stall' }), RequestTimeoutError);
    const ac = new AbortController();
    const p = rc.request({ method: 'GET', path: '/stall', timeoutMs: 0, signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await assert.rejects(p, { name: 'AbortError' });
  } finally {
    rc.close();
    s.closeAllConnections();
    s.close();
  }
});

test('https: insecureSkipTLSVerify and tlsServerName work with the shared secure context', async () => {
  const pki = await ensurePki(mkdtempSync(join(tmpdir(), 'pki-')), { bindAddress: '127.0.0.1' });
  const tls = await FakeApiServer.start({ tls: { cert: pki.serverCertPem, key: pki.serverKeyPem } });
  try {
    const insecure = new RestClient({ server: tls.url, insecureSkipTLSVerify: true }, { rateLimit: false });
    assert.equal((await insecure.request<{ kind: string }>({ method: 'GET', path: '/api/v1/nodes' })).kind, 'NodeList');
    insecure.close();
    const named = new RestClient({ server: tls.url, ca: pki.caCertPem, tlsServerName: 'kubernetes.default.svc' }, { rateLimit: false });
    assert.equal((await named.request<{ kind: string }>({ method: 'GET', path: '/api/v1/nodes' })).kind, 'NodeList');
    named.close();
    const wrongName = new RestClient({ server: tls.url, ca: pki.caCertPem, tlsServerName: 'not-the-server.example' }, { rateLimit: false });
    await assert.rejects(wrongName.request({ method: 'GET', path: '/api/v1/nodes' }), /altnames|Hostname|certificate/i);
    wrongName.close();
  } finally {
    await tls.close();
  }
});

test('unusable PEM data does not throw from the constructor; the request fails instead', async () => {
  const rc = new RestClient({ server: 'https://127.0.0.1:1', ca: 'not a pem', cert: 'nope', key: 'nope' }, { rateLimit: false, timeoutMs: 5_000 });
  await assert.rejects(rc.request({ method: 'GET', path: '/api/v1/nodes' }));
  rc.close();
});

test('queued requests honour deadlines and signals; close() lets requests in flight finish and the client stays usable', async () => {
  const held: http.ServerResponse[] = [];
  const urls: string[] = [];
  const s = http.createServer((req, res) => {
    urls.push(req.url!);
    if (req.url === '/hold') {
      held.push(res);
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{"n":1}');
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const rc = new RestClient({ server: `http://127.0.0.1:${(s.address() as AddressInfo).port}` }, { rateLimit: false, maxSockets: 1, timeoutMs: 0 });
  try {
    // The only connection is busy: the next requests wait in the pool's queue.
    const holding = rc.request({ method: 'GET', path: '/hold' });
    while (held.length === 0) await new Promise((r) => setTimeout(r, 5));
    await assert.rejects(rc.request({ method: 'GET', path: '/q', timeoutMs: 50 }), RequestTimeoutError);
    const ac = new AbortController();
    const queued = rc.request({ method: 'GET', path: '/q', signal: ac.signal });
    ac.abort();
    await assert.rejects(queued, { name: 'AbortError' });
    rc.close();
    held[0]!.writeHead(200, { 'Content-Type': 'application/json' }).end('{"held":true}');
    assert.deepEqual(await holding, { held: true });
    assert.deepEqual(await rc.request({ method: 'GET', path: '/after-close' }), { n: 1 });
    // The cancelled requests never reached the server.
    assert.deepEqual(urls, ['/hold', '/after-close']);
  } finally {
    rc.close();
    s.closeAllConnections();
    s.close();
  }
});

test('5xx with Retry-After is retried; connection errors surface as they are', async () => {
  const rc = new RestClient({ server: srv.url }, { rateLimit: false });
  srv.fail({ verb: 'list', code: 503, reason: 'ServiceUnavailable', retryAfter: 0, times: 1 });
  const before = srv.requestsFor('list').length;
  await rc.request({ method: 'GET', path: cmPath });
  assert.equal(srv.requestsFor('list').length - before, 2);
  rc.close();
  const closed = http.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  const refused = new RestClient({ server: `http://127.0.0.1:${port}` }, { rateLimit: false });
  await assert.rejects(refused.request({ method: 'GET', path: '/api/v1/pods' }), { code: 'ECONNREFUSED' });
  refused.close();
});

test('discardResult: a successful answer resolves undefined without being decoded; errors still throw', async () => {
  const rc = new RestClient({ server: srv.url }, { rateLimit: false });
  try {
    const made = await rc.request({ method: 'POST', path: cmPath, body: { metadata: { name: 'discarded' } }, discardResult: true });
    assert.equal(made, undefined);
    const got = await rc.request<{ metadata: { name: string } }>({ method: 'GET', path: `${cmPath}/discarded` });
    assert.equal(got.metadata.name, 'discarded');
    await assert.rejects(
      rc.request({ method: 'POST', path: cmPath, body: { metadata: { name: 'discarded' } }, discardResult: true }),
      (e) => isAlreadyExists(e),
    );
  } finally {
    rc.close();
  }
});
