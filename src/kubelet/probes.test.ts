import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { runProbe, type ProbeTarget } from './probes.js';
import type { RuntimeService } from './runtime/types.js';

// Host-network targets dial 127.0.0.1 directly, so the network handlers are tested against local servers.
const target = (port: number): ProbeTarget => ({
  runtime: {} as RuntimeService,
  containerId: 'c',
  sandboxId: 's',
  podIP: '',
  hostNetwork: true,
  container: { name: 'c', ports: [{ name: 'p', containerPort: port }] },
});

function grpcHealthServer(status: number): Promise<http2.Http2Server> {
  const srv = http2.createServer();
  srv.on('stream', (stream, headers) => {
    assert.equal(headers[':path'], '/grpc.health.v1.Health/Check');
    stream.on('data', () => {});
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      const msg = Buffer.from([0x08, status]);
      const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, msg.length]), msg]);
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(frame);
    });
  });
  return new Promise((r) => srv.listen(0, '127.0.0.1', () => r(srv)));
}

test('grpc probe: SERVING succeeds, NOT_SERVING fails', async () => {
  for (const [status, ok] of [[1, true], [2, false]] as const) {
    const srv = await grpcHealthServer(status);
    const port = (srv.address() as AddressInfo).port;
    const o = await runProbe({ grpc: { port }, timeoutSeconds: 2 }, target(port));
    srv.close();
    assert.equal(o.ok, ok, o.message);
    if (!ok) assert.match(o.message!, /NOT_SERVING/);
  }
});

test('tcpSocket probe: open port succeeds (named port), closed port fails', async () => {
  const srv = net.createServer((s) => s.end());
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  assert.equal((await runProbe({ tcpSocket: { port: 'p' }, timeoutSeconds: 1 }, target(port))).ok, true);
  srv.close();
  await new Promise((r) => setTimeout(r, 20));
  const o = await runProbe({ tcpSocket: { port }, timeoutSeconds: 1 }, target(port));
  assert.equal(o.ok, false);
  assert.match(o.message!, /ECONNREFUSED/);
});

test('httpGet probe: 2xx/3xx succeed, 500 fails with the status code', async () => {
  const { createServer } = await import('node:http');
  let code = 200;
  const srv = createServer((_q, r) => {
    r.statusCode = code;
    r.end();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  assert.equal((await runProbe({ httpGet: { port, path: '/healthz' } }, target(port))).ok, true);
  code = 302;
  assert.equal((await runProbe({ httpGet: { port, path: '/healthz' } }, target(port))).ok, true);
  code = 500;
  const o = await runProbe({ httpGet: { port, path: '/healthz' } }, target(port));
  assert.equal(o.ok, false);
  assert.match(o.message!, /statuscode: 500/);
  srv.close();
});
